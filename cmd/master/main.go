// Command master is postern's supervisor; see package master and master(8).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/master"
)

func main() {
	cfg := flag.String("c", config.DefaultFile, "configuration `file`")
	verbose := flag.Bool("v", false, "verbose logging, also passed to the daemons")
	flag.Parse()
	if err := master.Run(context.Background(), master.Options{ConfigPath: *cfg, Verbose: *verbose,
		NotifySocket: os.Getenv("NOTIFY_SOCKET")}); err != nil {
		fmt.Fprintf(os.Stderr, "master: fatal: %v\n", err)
		os.Exit(1)
	}
}
