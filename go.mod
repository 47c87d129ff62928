module postern.dev/postern

go 1.26.0

require (
	github.com/BurntSushi/toml v1.6.0
	golang.org/x/crypto v0.58.0
	golang.org/x/sys v0.49.0
	golang.org/x/tools v0.52.0
)
