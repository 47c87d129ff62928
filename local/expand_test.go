package local

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"postern.dev/postern/libmail/config"
)

func (k targetKind) String() string {
	switch k {
	case toVirtual:
		return "virtual"
	case toUser:
		return "user"
	case toCommand:
		return "command"
	case toFile:
		return "file"
	case toRemote:
		return "remote"
	}
	return fmt.Sprintf("targetKind(%d)", int(k))
}

// describe renders targets compactly: kind:addr for mailboxes and remote
// addresses, kind:value for commands and files; $D and $V stand for the
// test directory and the virtual mailbox base.
func describe(e *testEnv, ts []target) string {
	var out []string
	for _, t := range ts {
		s := t.kind.String() + ":" + t.addr
		switch t.kind {
		case toVirtual:
			s += "=" + t.value
			if t.ext != "" {
				s += "+" + t.ext
			}
		case toCommand, toFile:
			s = t.kind.String() + ":" + t.value + "@" + t.origin
			if t.user == nil {
				s += "(no user)"
			}
		case toRemote:
			s += "@" + t.origin
		}
		s = strings.ReplaceAll(s, e.vbase, "$V")
		s = strings.ReplaceAll(s, e.dir, "$D")
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

const expandAccounts = "user@example.test:{PLAIN}pw\n" +
	"user2@example.test:{PLAIN}pw\n" +
	"homed@example.test:{PLAIN}pw::::/srv/mail/homed\n"

func TestExpand(t *testing.T) {
	tests := []struct {
		name     string
		aliases  string
		files    map[string]string // more files under the test directory ($D)
		params   func(*config.Params)
		rcpt     string
		want     string // targets, when no error
		wantErr  string // DSN of the expected error
		wantText string // part of the error text
	}{
		{
			name: "account",
			rcpt: "user@example.test",
			want: "virtual:user@example.test=$V/example.test/user",
		},
		{
			name: "account with home",
			rcpt: "homed@example.test",
			want: "virtual:homed@example.test=/srv/mail/homed",
		},
		{
			name: "account with extension",
			rcpt: "User+Tag@Example.Test",
			want: "virtual:User+Tag@Example.Test=$V/example.test/user+tag",
		},
		{
			name:     "unknown",
			rcpt:     "nobody-here@example.test",
			wantErr:  "5.1.1",
			wantText: "unknown user",
		},
		{
			name:    "self-reference keeps the mailbox",
			aliases: "user: user, other@remote.example\n",
			rcpt:    "user@example.test",
			want:    "virtual:user@example.test=$V/example.test/user remote:other@remote.example@alias",
		},
		{
			name:    "self-reference with extension",
			aliases: "user: user, other@remote.example\n",
			rcpt:    "user+x@example.test",
			want:    "virtual:user+x@example.test=$V/example.test/user remote:other@remote.example@alias",
		},
		{
			name:     "self-reference to no mailbox",
			aliases:  "ghost: ghost, other@remote.example\n",
			rcpt:     "ghost@example.test",
			wantErr:  "5.1.1",
			wantText: "ghost",
		},
		{
			name:    "nested aliases",
			aliases: "list: a, b, ext@remote.example\na: user\nb: c@lists.example.test\nc: user2@example.test\n",
			rcpt:    "list@example.test",
			want: "virtual:user@example.test=$V/example.test/user " +
				"virtual:user2@example.test=$V/example.test/user2 remote:ext@remote.example@alias",
		},
		{
			name:    "a mailbox reached twice is delivered once",
			aliases: "list: a, b\na: user\nb: user\n",
			rcpt:    "list@example.test",
			want:    "virtual:user@example.test=$V/example.test/user",
		},
		{
			name:    "remote targets are collected",
			aliases: "fwd: one@remote.example, Two@Other.Example\n",
			rcpt:    "fwd@example.test",
			want:    "remote:one@remote.example@alias remote:Two@Other.Example@alias",
		},
		{
			name:     "an unknown member fails the whole alias",
			aliases:  "list: user, missing\n",
			rcpt:     "list@example.test",
			wantErr:  "5.1.1",
			wantText: "missing",
		},
		{
			name:     "deep nesting",
			aliases:  chain(25),
			rcpt:     "l0@example.test",
			wantErr:  "5.4.6",
			wantText: "too deep",
		},
		{
			name:    "nesting within the limit",
			aliases: chain(15),
			rcpt:    "l0@example.test",
			want:    "virtual:user@example.test=$V/example.test/user",
		},
		{
			name:    "include",
			aliases: "staff: :include:$D/staff\n",
			files:   map[string]string{"staff": "# staff\nuser, far@remote.example\nuser2\n"},
			rcpt:    "staff@example.test",
			want: "virtual:user@example.test=$V/example.test/user remote:far@remote.example@include " +
				"virtual:user2@example.test=$V/example.test/user2",
		},
		{
			name:    "nested include",
			aliases: "staff: :include:$D/staff\n",
			files:   map[string]string{"staff": ":include:$D/more\n", "more": "user\n"},
			rcpt:    "staff@example.test",
			want:    "virtual:user@example.test=$V/example.test/user",
		},
		{
			name:     "missing include",
			aliases:  "staff: :include:$D/nope\n",
			rcpt:     "staff@example.test",
			wantErr:  "5.3.5",
			wantText: "cannot open :include: file",
		},
		{
			name:    "command in alias",
			aliases: "prog: \"|/usr/bin/true --flag\"\n",
			rcpt:    "prog@example.test",
			want:    "command:/usr/bin/true --flag@alias",
		},
		{
			name:     "command in alias denied",
			aliases:  "prog: |/usr/bin/true\n",
			params:   func(p *config.Params) { p.AllowMailToCommands = []string{"forward"} },
			rcpt:     "prog@example.test",
			wantErr:  "5.7.1",
			wantText: "allow_mail_to_commands",
		},
		{
			name:     "command in include denied by default",
			aliases:  "staff: :include:$D/staff\n",
			files:    map[string]string{"staff": "|/usr/bin/true\n"},
			rcpt:     "staff@example.test",
			wantErr:  "5.7.1",
			wantText: "include",
		},
		{
			name:    "command in include allowed",
			aliases: "staff: :include:$D/staff\n",
			files:   map[string]string{"staff": "|/usr/bin/true\n"},
			params:  func(p *config.Params) { p.AllowMailToCommands = []string{"alias", "Include"} },
			rcpt:    "staff@example.test",
			want:    "command:/usr/bin/true@include",
		},
		{
			name:    "file in alias",
			aliases: "archive: /var/archive/mail, user\n",
			rcpt:    "archive@example.test",
			want:    "file:/var/archive/mail@alias virtual:user@example.test=$V/example.test/user",
		},
		{
			name:     "file in alias denied",
			aliases:  "archive: /var/archive/mail\n",
			params:   func(p *config.Params) { p.AllowMailToFiles = nil },
			rcpt:     "archive@example.test",
			wantErr:  "5.7.1",
			wantText: "allow_mail_to_files",
		},
		{
			name:     "file in include denied by default",
			aliases:  "staff: :include:$D/staff\n",
			files:    map[string]string{"staff": "/var/archive/mail\n"},
			rcpt:     "staff@example.test",
			wantErr:  "5.7.1",
			wantText: "allow_mail_to_files",
		},
		{
			name:    "file in include allowed",
			aliases: "staff: :include:$D/staff\n",
			files:   map[string]string{"staff": "/var/archive/mail\n"},
			params:  func(p *config.Params) { p.AllowMailToFiles = []string{"include"} },
			rcpt:    "staff@example.test",
			want:    "file:/var/archive/mail@include",
		},
		{
			name:    "alias keys are case-insensitive",
			aliases: "Sales: user\n",
			rcpt:    "SALES@EXAMPLE.TEST",
			want:    "virtual:user@EXAMPLE.TEST=$V/example.test/user",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			aliases := strings.ReplaceAll(tt.aliases, "$D", dir)
			e := newTestEnv(t, envOptions{aliases: aliases, accounts: expandAccounts, params: tt.params})
			// The include files go in the same directory the aliases do.
			for name, text := range tt.files {
				write(t, filepath.Join(dir, name), strings.ReplaceAll(text, "$D", dir))
			}
			x := &expander{a: e.agent, seen: map[string]bool{}}
			err := x.expand(tt.rcpt, 0, "", nil)
			got := strings.ReplaceAll(describe(e, x.targets), dir, "$D")
			if tt.wantErr != "" {
				var de *deliveryError
				if !errors.As(err, &de) {
					t.Fatalf("expand(%s) = %v (targets %s), want a %s error", tt.rcpt, err, got, tt.wantErr)
				}
				if de.dsn != tt.wantErr || !strings.Contains(de.text, tt.wantText) || de.temp != (de.dsn[0] == '4') {
					t.Errorf("expand(%s) error = %s %q temp=%v, want %s containing %q", tt.rcpt, de.dsn, de.text, de.temp, tt.wantErr, tt.wantText)
				}
				return
			}
			if err != nil {
				t.Fatalf("expand(%s): %v", tt.rcpt, err)
			}
			if got != tt.want {
				t.Errorf("expand(%s) =\n  %s\nwant\n  %s", tt.rcpt, got, tt.want)
			}
		})
	}
}

// chain is an alias chain l0 -> l1 -> ... -> ln -> user.
func chain(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "l%d: l%d\n", i, i+1)
	}
	fmt.Fprintf(&b, "l%d: user\n", n)
	return b.String()
}

// TestExpandCommandOwner checks whom commands and files run as: the owner
// of the aliases or include file, or default_privs for a root-owned file.
func TestExpandCommandOwner(t *testing.T) {
	e := newTestEnv(t, envOptions{aliases: "prog: |/usr/bin/true\n", accounts: expandAccounts})
	x := &expander{a: e.agent, seen: map[string]bool{}}
	if err := x.expand("prog@example.test", 0, "", nil); err != nil {
		t.Fatal(err)
	}
	if len(x.targets) != 1 || x.targets[0].user == nil {
		t.Fatalf("targets %+v", x.targets)
	}
	// The file belongs to the test's user; when that is root, the
	// default_privs user (set to the test's user too) is used.
	if u := x.targets[0].user; u.UID != e.me.UID {
		t.Errorf("command runs as uid %d, want %d", u.UID, e.me.UID)
	}
}

// TestExpandLoop: two aliases naming each other must end in an error,
// not in a hang and not in a "delivered" that delivered nowhere.
func TestExpandLoop(t *testing.T) {
	tests := []struct{ name, aliases, rcpt string }{
		{"pair", "a: b\nb: a\n", "a@example.test"},
		{"triangle", "a: b\nb: c\nc: a\n", "b@example.test"},
		{"self with domain", "a: a@example.test\n", "a@example.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t, envOptions{aliases: tt.aliases})
			x := &expander{a: e.agent, seen: map[string]bool{}}
			err := x.expand(tt.rcpt, 0, "", nil)
			var de *deliveryError
			if !errors.As(err, &de) || de.temp || de.dsn[0] != '5' {
				t.Errorf("expand(%s) = %v with targets %q; want a permanent error", tt.rcpt, err, describe(e, x.targets))
			}
		})
	}
}

// TestDeliverLoopDoesNotDrop runs the loop through deliver, where the
// missing error turns into status=sent.
func TestDeliverLoopDoesNotDrop(t *testing.T) {
	e := newTestEnv(t, envOptions{aliases: "a: b\nb: a\n"})
	id := e.enqueue("sender@example.org", testMessage, "a@example.test")
	rep := e.handle(id, true, 0)
	if rep.Results[0].Status == "sent" {
		t.Errorf("alias loop: result %+v, want a failure", rep.Results[0])
	}
}

// TestExpandSelfReferenceByAddress: "user@domain: user, copy@elsewhere"
// names itself just as "user: user, ..." does; the mailbox must not be
// lost.
func TestExpandSelfReferenceByAddress(t *testing.T) {
	for _, aliases := range []string{
		"user@example.test: user, other@remote.example\n",
		"user: user@example.test, other@remote.example\n",
	} {
		e := newTestEnv(t, envOptions{aliases: aliases, accounts: expandAccounts})
		x := &expander{a: e.agent, seen: map[string]bool{}}
		if err := x.expand("user@example.test", 0, "", nil); err != nil {
			t.Fatalf("%q: %v", aliases, err)
		}
		want := "virtual:user@example.test=$V/example.test/user remote:other@remote.example@alias"
		if got := describe(e, x.targets); got != want {
			t.Errorf("%q: targets %s, want %s", aliases, got, want)
		}
	}
}

// TestExpandIncludeLoop: :include: files that include each other. While
// the cycle holds an address, the depth check in expand ends it.
func TestExpandIncludeLoop(t *testing.T) {
	dir := t.TempDir()
	e := newTestEnv(t, envOptions{aliases: "staff: :include:" + dir + "/staff\n", accounts: expandAccounts})
	write(t, filepath.Join(dir, "staff"), "user\n:include:"+dir+"/more\n")
	write(t, filepath.Join(dir, "more"), ":include:"+dir+"/staff\n")
	x := &expander{a: e.agent, seen: map[string]bool{}}
	err := x.expand("staff@example.test", 0, "", nil)
	var de *deliveryError
	if !errors.As(err, &de) || de.dsn != "5.4.6" {
		t.Errorf("expand = %v, want a 5.4.6 error", err)
	}
}

// TestExpandIncludeOnlyLoop: a cycle of :include: files with no address
// in it. The depth limit is checked only in expand, never on the include
// path, so this recursion has no bound: the goroutine's stack grows until
// the runtime kills the whole local daemon (a fatal error, not a panic),
// qmgr reschedules the entry, and local dies again. Any system user can
// set this off with ":include:/home/me/.forward" in ~/.forward.
func TestExpandIncludeOnlyLoop(t *testing.T) {
	dir := t.TempDir()
	e := newTestEnv(t, envOptions{aliases: "staff: :include:" + dir + "/staff\n", accounts: expandAccounts})
	write(t, filepath.Join(dir, "staff"), ":include:"+dir+"/staff\n")
	x := &expander{a: e.agent, seen: map[string]bool{}}
	err := x.expand("staff@example.test", 0, "", nil)
	var de *deliveryError
	if !errors.As(err, &de) || de.dsn != "5.4.6" {
		t.Errorf("expand = %v, want a 5.4.6 error", err)
	}
}
