// Package version holds postern's version, shown in banners, logs and
// `postern version`. The Makefile may override it at link time with
// -ldflags "-X postern.dev/postern/libmail/version.Version=...".
package version

// Version is the release of this build.
var Version = "0.1.0"
