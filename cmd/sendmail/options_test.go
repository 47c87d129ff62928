package main

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		want options
	}{
		{[]string{"sendmail", "bob"}, options{mode: modeDeliver, recipients: []string{"bob"}}},
		{[]string{"/usr/sbin/mailq"}, options{mode: modeQueue, recipients: []string{}}},
		{[]string{"newaliases"}, options{mode: modeNewaliases, recipients: []string{}}},
		{[]string{"sendmail", "-bp"}, options{mode: modeQueue, recipients: []string{}}},
		{[]string{"sendmail", "-bi"}, options{mode: modeNewaliases, recipients: []string{}}},
		{[]string{"sendmail", "-I"}, options{mode: modeNewaliases, recipients: []string{}}},
		{[]string{"sendmail", "-bs"}, options{mode: modeSMTP, recipients: []string{}}},
		{[]string{"sendmail", "-q"}, options{mode: modeFlush, recipients: []string{}}},
		{[]string{"sendmail", "-qRexample.org"}, options{mode: modeFlush, site: "example.org", recipients: []string{}}},
		{[]string{"sendmail", "-q1h"}, options{mode: modeDeliver, recipients: []string{}}},
		// Bundled flags, attached and separate arguments, -- before
		// recipients that look like options.
		{[]string{"sendmail", "-ti", "-fbounce@example.org", "-F", "Alice Example", "--", "-bob"},
			options{mode: modeDeliver, extract: true, ignoreDots: true, sender: "bounce@example.org", hasSender: true,
				fullName: "Alice Example", recipients: []string{"-bob"}}},
		{[]string{"sendmail", "-r", "<>", "bob"}, options{mode: modeDeliver, hasSender: true, recipients: []string{"bob"}}},
		{[]string{"sendmail", "-oi", "-oem", "-om", "-odb", "-odi", "-oQ/var/x", "-Ox=y", "-O", "a=b", "-e", "m", "-h", "12", "-c", "-G", "-U", "-m", "-n", "-x", "-L", "lab", "-p", "smtp", "bob"},
			options{mode: modeDeliver, ignoreDots: true, recipients: []string{"bob"}}},
		{[]string{"sendmail", "-N", "success, delay", "-R", "hdrs", "-V", "env1", "-B", "8bitmime", "-v", "-v", "-C", "/x.toml", "bob"},
			options{mode: modeDeliver, notify: "SUCCESS,DELAY", ret: "HDRS", envID: "env1", body: "8BITMIME", verbose: 2, config: "/x.toml", recipients: []string{"bob"}}},
		{[]string{"sendmail", "-N", "bogus", "-R", "some", "bob"},
			options{mode: modeDeliver, recipients: []string{"bob"}, warnings: []string{`bad -N option value "bogus" -- ignored`, `bad -R option value "some" -- ignored`}}},
		{[]string{"sendmail", "-Nnever", "bob"}, options{mode: modeDeliver, notify: "NEVER", recipients: []string{"bob"}}},
	} {
		got, err := parseArgs(c.args)
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if !reflect.DeepEqual(*got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.args, *got, c.want)
		}
	}
}

func TestParseArgsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"sendmail", "-Z"},
		{"sendmail", "-f"},
		{"sendmail", "-C"},
		{"sendmail", "-bz"},
		{"sendmail", "-bq"},
		{"sendmail", "-B", "binarymime", "bob"},
		{"sendmail", "-V", "a b", "bob"},
		{"sendmail", "-qR"},
		{"sendmail", "-Nnever,success", "-Z"},
	} {
		_, err := parseArgs(args)
		var u usageErr
		if !errors.As(err, &u) {
			t.Errorf("%q: got %v, want a usage error", args, err)
		}
	}
}
