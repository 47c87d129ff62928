package recipient

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/maillog"
)

// clock is a manual clock for the Directory's reload check.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// params returns the defaults for a test host with the given files.
func params(aliasPaths []string, accounts string, systemUsers bool) *config.Params {
	p := config.Default(config.Options{Hostname: "mail.example.test"}).Params
	p.MyDestination = []string{"example.test", "Other.Example.Test"}
	p.AliasMaps = aliasPaths
	p.AccountsFile = accounts
	p.LocalSystemUsers = systemUsers
	p.RecipientDelimiter = "+"
	return &p
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// me is the user the tests run as, a system user that certainly exists.
func me(t *testing.T) *daemon.User {
	t.Helper()
	u, err := daemon.Current()
	if err != nil {
		t.Skipf("cannot look up the current user: %v", err)
	}
	if u.Name != strings.ToLower(u.Name) || strings.ContainsAny(u.Name, "+/:@") {
		t.Skipf("current user name %q does not suit these tests", u.Name)
	}
	return u
}

func targets(m Match) string {
	var s []string
	for _, t := range m.Targets {
		s = append(s, t.String())
	}
	return strings.Join(s, ",")
}

func TestLookupOrder(t *testing.T) {
	u := me(t)
	type want struct {
		kind    Kind
		key     string // alias key
		targets string // alias targets
		account string // account address
		user    string // system user name
		ext     string
	}
	tests := []struct {
		name     string
		aliases  string
		accounts string
		delim    string // "" keeps "+"; "none" disables extensions
		passwd   bool
		addr     string
		want     want
	}{
		{
			name:    "alias by full address before alias by local part",
			aliases: "bob@example.test: one@remote.example\nbob: two@remote.example\n",
			addr:    "bob@example.test",
			want:    want{kind: Alias, key: "bob@example.test", targets: "one@remote.example"},
		},
		{
			name:    "alias by local part in any local domain",
			aliases: "bob@example.test: one@remote.example\nbob: two@remote.example\n",
			addr:    "bob@other.example.test",
			want:    want{kind: Alias, key: "bob", targets: "two@remote.example"},
		},
		{
			name:     "alias before account",
			aliases:  "carol: x@remote.example\n",
			accounts: "carol@example.test:{PLAIN}pw\n",
			addr:     "carol@example.test",
			want:     want{kind: Alias, key: "carol", targets: "x@remote.example"},
		},
		{
			name:     "account before system user",
			accounts: u.Name + "@example.test:{PLAIN}pw\n",
			passwd:   true,
			addr:     u.Name + "@example.test",
			want:     want{kind: Account, account: u.Name + "@example.test"},
		},
		{
			name:   "system user",
			passwd: true,
			addr:   u.Name + "@example.test",
			want:   want{kind: SystemUser, user: u.Name},
		},
		{
			name:    "alias with extension before stripped alias",
			aliases: "dave+news: news@remote.example\ndave: plain@remote.example\n",
			addr:    "dave+news@example.test",
			want:    want{kind: Alias, key: "dave+news", targets: "news@remote.example"},
		},
		{
			name:    "stripped alias carries the extension",
			aliases: "dave+news: news@remote.example\ndave: plain@remote.example\n",
			addr:    "dave+other@example.test",
			want:    want{kind: Alias, key: "dave", targets: "plain@remote.example", ext: "other"},
		},
		{
			name:    "stripped full-address alias before stripped local part",
			aliases: "erin: b@remote.example\nerin@example.test: a@remote.example\n",
			addr:    "erin+x@example.test",
			want:    want{kind: Alias, key: "erin@example.test", targets: "a@remote.example", ext: "x"},
		},
		{
			name:    "full local part by local part before stripped full address",
			aliases: "erin+x: b@remote.example\nerin@example.test: a@remote.example\n",
			addr:    "erin+x@example.test",
			want:    want{kind: Alias, key: "erin+x", targets: "b@remote.example"},
		},
		{
			// Aliases, with and without the extension, come before accounts.
			name:     "stripped alias before account with extension",
			aliases:  "frank: f@remote.example\n",
			accounts: "frank+x@example.test:{PLAIN}pw\n",
			addr:     "frank+x@example.test",
			want:     want{kind: Alias, key: "frank", targets: "f@remote.example", ext: "x"},
		},
		{
			name:     "account with extension before stripped account",
			accounts: "gina+x@example.test:{PLAIN}pw\ngina@example.test:{PLAIN}pw\n",
			addr:     "gina+x@example.test",
			want:     want{kind: Account, account: "gina+x@example.test"},
		},
		{
			name:     "stripped account",
			accounts: "gina@example.test:{PLAIN}pw\n",
			addr:     "gina+y@example.test",
			want:     want{kind: Account, account: "gina@example.test", ext: "y"},
		},
		{
			name:     "stripped account before system user with extension",
			accounts: u.Name + "@example.test:{PLAIN}pw\n",
			passwd:   true,
			addr:     u.Name + "+z@example.test",
			want:     want{kind: Account, account: u.Name + "@example.test", ext: "z"},
		},
		{
			name:   "system user with extension",
			passwd: true,
			addr:   u.Name + "+z@example.test",
			want:   want{kind: SystemUser, user: u.Name, ext: "z"},
		},
		{
			name:     "account in another domain does not match",
			accounts: "gina@other.example.test:{PLAIN}pw\n",
			addr:     "gina@example.test",
			want:     want{kind: Unknown},
		},
		{
			name:    "no delimiter: no extension stripping",
			aliases: "dave: plain@remote.example\n",
			delim:   "none",
			addr:    "dave+other@example.test",
			want:    want{kind: Unknown},
		},
		{
			name:    "leading delimiter is not an extension",
			aliases: "dave: plain@remote.example\n",
			addr:    "+dave@example.test",
			want:    want{kind: Unknown},
		},
		{
			name:    "only the first delimiter splits",
			aliases: "hal: h@remote.example\n",
			addr:    "hal+a+b@example.test",
			want:    want{kind: Alias, key: "hal", targets: "h@remote.example", ext: "a+b"},
		},
		{
			name:   "system users off",
			passwd: false,
			addr:   u.Name + "@example.test",
			want:   want{kind: Unknown},
		},
		{
			name:   "unknown",
			passwd: true,
			addr:   "no-such-user-here-xyz@example.test",
			want:   want{kind: Unknown},
		},
		{
			name:   "names with slashes are never system users",
			passwd: true,
			addr:   "../" + u.Name + "@example.test",
			want:   want{kind: Unknown},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			aliases := filepath.Join(dir, "aliases")
			accounts := filepath.Join(dir, "accounts")
			if tt.aliases != "" {
				writeFile(t, aliases, tt.aliases)
			}
			if tt.accounts != "" {
				writeFile(t, accounts, tt.accounts)
			}
			p := params([]string{aliases}, accounts, tt.passwd)
			switch tt.delim {
			case "none":
				p.RecipientDelimiter = ""
			case "":
			default:
				p.RecipientDelimiter = tt.delim
			}
			d := New(p, maillog.Discard(), newClock().Now)
			m, err := d.Lookup(tt.addr)
			if err != nil {
				t.Fatalf("Lookup(%q): %v", tt.addr, err)
			}
			w := tt.want
			if m.Kind != w.kind {
				t.Fatalf("Lookup(%q) kind = %v, want %v (match %+v)", tt.addr, m.Kind, w.kind, m)
			}
			if m.Extension != w.ext {
				t.Errorf("Extension = %q, want %q", m.Extension, w.ext)
			}
			switch w.kind {
			case Alias:
				if m.Key != w.key || targets(m) != w.targets {
					t.Errorf("alias = %q -> %q, want %q -> %q", m.Key, targets(m), w.key, w.targets)
				}
				if m.AliasFile != aliases {
					t.Errorf("AliasFile = %q, want %q", m.AliasFile, aliases)
				}
			case Account:
				if m.Account == nil || m.Account.Address != w.account {
					t.Errorf("account = %+v, want %q", m.Account, w.account)
				}
			case SystemUser:
				if m.User == nil || m.User.Name != w.user {
					t.Errorf("user = %+v, want %q", m.User, w.user)
				}
			}
		})
	}
}

func TestLookupCaseInsensitive(t *testing.T) {
	u := me(t)
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	accounts := filepath.Join(dir, "accounts")
	writeFile(t, aliases, "Postmaster: root@remote.example\nSales@Example.TEST: Team@Remote.Example\n")
	writeFile(t, accounts, "Demo@Example.Test:{PLAIN}pw\n")
	d := New(params([]string{aliases}, accounts, true), maillog.Discard(), newClock().Now)
	tests := []struct {
		addr string
		kind Kind
		what string // key, account address or user name
	}{
		{"postmaster@example.test", Alias, "postmaster"},
		{"POSTMASTER@EXAMPLE.TEST", Alias, "postmaster"},
		{"PostMaster+Ext@Other.Example.Test", Alias, "postmaster"},
		{"sales@example.test", Alias, "sales@example.test"},
		{"SALES@example.TEST", Alias, "sales@example.test"},
		{"demo@example.test", Account, "demo@example.test"},
		{"DEMO@EXAMPLE.TEST", Account, "demo@example.test"},
		{"dEmO+Box@Example.Test", Account, "demo@example.test"},
		{strings.ToUpper(u.Name) + "@example.test", SystemUser, u.Name},
	}
	for _, tt := range tests {
		m, err := d.Lookup(tt.addr)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", tt.addr, err)
		}
		var got string
		switch m.Kind {
		case Alias:
			got = m.Key
		case Account:
			got = m.Account.Address
		case SystemUser:
			got = m.User.Name
		}
		if m.Kind != tt.kind || got != tt.what {
			t.Errorf("Lookup(%q) = %v %q, want %v %q", tt.addr, m.Kind, got, tt.kind, tt.what)
		}
	}
	// Alias values keep their case: the remote host decides what it means.
	m, _ := d.Lookup("sales@example.test")
	if targets(m) != "Team@Remote.Example" {
		t.Errorf("targets = %q, want the case as written", targets(m))
	}
	if a, ok := d.Account("DEMO@Example.Test"); !ok || a.Address != "demo@example.test" {
		t.Errorf("Account(DEMO@Example.Test) = %v, %v", a, ok)
	}
	for _, dom := range []string{"example.test", "EXAMPLE.TEST", "other.example.test"} {
		if !d.IsLocal(dom) {
			t.Errorf("IsLocal(%q) = false", dom)
		}
	}
	if d.IsLocal("remote.example") {
		t.Errorf("IsLocal(remote.example) = true")
	}
}

func TestMultipleAliasFiles(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first")
	second := filepath.Join(dir, "second")
	writeFile(t, first, "both: first@remote.example\n")
	writeFile(t, second, "both: second@remote.example\nonly2: two@remote.example\n")
	d := New(params([]string{first, filepath.Join(dir, "missing"), second}, "", false), maillog.Discard(), newClock().Now)
	for addr, want := range map[string]string{
		"both@example.test":  "first@remote.example",
		"only2@example.test": "two@remote.example",
	} {
		m, err := d.Lookup(addr)
		if err != nil || m.Kind != Alias || targets(m) != want {
			t.Errorf("Lookup(%q) = %+v, %v; want alias to %s", addr, m, err, want)
		}
	}
	m, _ := d.Lookup("only2@example.test")
	if m.AliasFile != second {
		t.Errorf("AliasFile = %q, want %q", m.AliasFile, second)
	}
}

func TestMissingFiles(t *testing.T) {
	dir := t.TempDir()
	var log testkit.LogBuffer
	d := New(params([]string{filepath.Join(dir, "aliases")}, filepath.Join(dir, "accounts"), false),
		maillog.ForWriter(&log, "test", "mail.example.test", nil), newClock().Now)
	for _, addr := range []string{"postmaster@example.test", "demo@example.test"} {
		m, err := d.Lookup(addr)
		if err != nil || m.Kind != Unknown {
			t.Errorf("Lookup(%q) = %+v, %v; want Unknown and no error", addr, m, err)
		}
	}
	if a, ok := d.Account("demo@example.test"); ok {
		t.Errorf("Account = %v, want none", a)
	}
	if s := log.String(); s != "" {
		t.Errorf("missing files were logged: %s", s)
	}
	// No accounts file configured at all.
	d = New(params(nil, "", false), maillog.Discard(), newClock().Now)
	if m, err := d.Lookup("demo@example.test"); err != nil || m.Kind != Unknown {
		t.Errorf("Lookup without files = %+v, %v", m, err)
	}
	if _, ok := d.Account("demo@example.test"); ok {
		t.Errorf("Account without file found something")
	}
}

func TestBrokenAliasLine(t *testing.T) {
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	writeFile(t, aliases, strings.Join([]string{
		"# the aliases",
		"good: alice@remote.example",
		"this line has no colon",
		"bad: x@remote.example, <joe@remote.example>",
		"other: bob@remote.example",
		"  , carol@remote.example",
		"",
	}, "\n"))
	var log testkit.LogBuffer
	d := New(params([]string{aliases}, "", false), maillog.ForWriter(&log, "test", "mail.example.test", nil), newClock().Now)
	tests := []struct {
		addr, want string
	}{
		{"good@example.test", "alice@remote.example"},
		{"other@example.test", "bob@remote.example,carol@remote.example"},
		{"bad@example.test", ""},
		{"this@example.test", ""},
	}
	for _, tt := range tests {
		m, err := d.Lookup(tt.addr)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", tt.addr, err)
		}
		if got := targets(m); got != tt.want {
			t.Errorf("Lookup(%q) targets = %q, want %q", tt.addr, got, tt.want)
		}
	}
	if s := log.String(); !strings.Contains(s, aliases) || !strings.Contains(s, "warning") {
		t.Errorf("log does not warn about %s:\n%s", aliases, s)
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	accounts := filepath.Join(dir, "accounts")
	writeFile(t, aliases, "a: one@remote.example\n")
	writeFile(t, accounts, "demo@example.test:{PLAIN}pw\n")
	clk := newClock()
	d := New(params([]string{aliases}, accounts, false), maillog.Discard(), clk.Now)

	lookup := func(addr string) string {
		t.Helper()
		m, err := d.Lookup(addr)
		if err != nil {
			t.Fatalf("Lookup(%q): %v", addr, err)
		}
		switch m.Kind {
		case Alias:
			return targets(m)
		case Account:
			return "account " + m.Account.Address
		}
		return ""
	}
	// touch gives the file a distinct mtime, so a rewrite of the same size
	// is seen as a change whatever the file system's timestamp resolution.
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	touch := func(path string) {
		t.Helper()
		mtime = mtime.Add(time.Minute)
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	if got := lookup("a@example.test"); got != "one@remote.example" {
		t.Fatalf("initial a = %q", got)
	}

	// A change is not seen until a second has passed since the last check.
	writeFile(t, aliases, "a: two@remote.example\nb: new@remote.example\n")
	touch(aliases)
	clk.Advance(999 * time.Millisecond)
	if got := lookup("a@example.test"); got != "one@remote.example" {
		t.Errorf("a changed within the second: %q", got)
	}
	clk.Advance(time.Millisecond)
	if got := lookup("a@example.test"); got != "two@remote.example" {
		t.Errorf("after a second a = %q, want two@remote.example", got)
	}
	if got := lookup("b@example.test"); got != "new@remote.example" {
		t.Errorf("after a second b = %q", got)
	}

	// Same size, new mtime.
	writeFile(t, aliases, "a: six@remote.example\nb: new@remote.example\n")
	touch(aliases)
	clk.Advance(time.Second)
	if got := lookup("a@example.test"); got != "six@remote.example" {
		t.Errorf("same-size rewrite: a = %q, want six@remote.example", got)
	}

	// The accounts file too.
	writeFile(t, accounts, "demo@example.test:{PLAIN}pw\nnew@example.test:{PLAIN}pw\n")
	touch(accounts)
	clk.Advance(time.Second)
	if got := lookup("new@example.test"); got != "account new@example.test" {
		t.Errorf("new account = %q", got)
	}
	if _, ok := d.Account("new@example.test"); !ok {
		t.Errorf("Account(new@example.test) not found after reload")
	}

	// A removed file is an empty table; a file that appears is read.
	if err := os.Remove(aliases); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if got := lookup("a@example.test"); got != "" {
		t.Errorf("after removal a = %q, want nothing", got)
	}
	writeFile(t, aliases, "a: back@remote.example\n")
	clk.Advance(time.Second)
	if got := lookup("a@example.test"); got != "back@remote.example" {
		t.Errorf("after re-creation a = %q", got)
	}

	// A clock going backwards does not stop checks for good.
	writeFile(t, aliases, "a: later@remote.example\n")
	touch(aliases)
	clk.Advance(-time.Hour)
	lookup("a@example.test")
	clk.Advance(time.Hour + 2*time.Second)
	if got := lookup("a@example.test"); got != "later@remote.example" {
		t.Errorf("after clock step a = %q", got)
	}
}

// TestReloadUnreadableKeepsPrevious checks the promise of reload: "a file
// that cannot be read keeps its previous contents". Replacing the aliases
// file with something that stats fine but cannot be read (here a
// directory, which fails on read for root too) must not make every alias
// unknown, which smtpd would turn into 550 5.1.1 for real recipients.
func TestReloadUnreadableKeepsPrevious(t *testing.T) {
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	writeFile(t, aliases, "a: one@remote.example\n")
	clk := newClock()
	d := New(params([]string{aliases}, "", false), maillog.Discard(), clk.Now)
	if m, _ := d.Lookup("a@example.test"); m.Kind != Alias {
		t.Fatalf("initial lookup: %+v", m)
	}
	if err := os.Remove(aliases); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(aliases, 0o755); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	m, err := d.Lookup("a@example.test")
	if err == nil && m.Kind != Alias {
		t.Errorf("after the file became unreadable: Lookup = %+v, %v; want the previous alias (or an error)", m, err)
	}
}

// TestReloadUnreadablePermissions is the same with a file the process may
// not read, which needs a non-root user.
func TestReloadUnreadablePermissions(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads any file")
	}
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	writeFile(t, aliases, "a: one@remote.example\n")
	clk := newClock()
	d := New(params([]string{aliases}, "", false), maillog.Discard(), clk.Now)
	writeFile(t, aliases, "a: two@remote.example\n")
	if err := os.Chmod(aliases, 0); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	m, err := d.Lookup("a@example.test")
	if err == nil && m.Kind != Alias {
		t.Errorf("Lookup = %+v, %v; want the previous alias (or an error)", m, err)
	}
}

func TestSystemUsersOff(t *testing.T) {
	u := me(t)
	for _, on := range []bool{true, false} {
		d := New(params(nil, "", on), maillog.Discard(), newClock().Now)
		if d.SystemUsers() != on {
			t.Errorf("SystemUsers() = %v, want %v", d.SystemUsers(), on)
		}
		m, err := d.Lookup(u.Name + "@example.test")
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]Kind{true: SystemUser, false: Unknown}[on]; m.Kind != want {
			t.Errorf("local_system_users=%v: Lookup(%s) = %v, want %v", on, u.Name, m.Kind, want)
		}
		if on && (m.User.UID != u.UID || m.User.Home != u.Home) {
			t.Errorf("user = %+v, want %+v", m.User, u)
		}
	}
}

// TestUserCache checks that system user answers, negative ones included,
// are cached for a minute of the injected clock.
func TestUserCache(t *testing.T) {
	u := me(t)
	clk := newClock()
	d := New(params(nil, "", true), maillog.Discard(), clk.Now)
	if m, _ := d.Lookup(u.Name + "@example.test"); m.Kind != SystemUser {
		t.Fatalf("first lookup %v", m.Kind)
	}
	d.mu.Lock()
	e, ok := d.userCache[u.Name]
	d.mu.Unlock()
	if !ok || e.u == nil || !e.when.Equal(clk.Now()) {
		t.Fatalf("cache entry = %+v, %v", e, ok)
	}
	// Poison the cache to see whether it is used.
	d.mu.Lock()
	d.userCache[u.Name] = userEntry{nil, clk.Now()}
	d.mu.Unlock()
	clk.Advance(59 * time.Second)
	if m, _ := d.Lookup(u.Name + "@example.test"); m.Kind != Unknown {
		t.Errorf("within a minute the cached answer was not used: %v", m.Kind)
	}
	clk.Advance(time.Second)
	if m, _ := d.Lookup(u.Name + "@example.test"); m.Kind != SystemUser {
		t.Errorf("after a minute the user was not looked up again: %v", m.Kind)
	}
}

// TestConcurrentLookups runs lookups while the file changes and the clock
// moves, for the race detector.
func TestConcurrentLookups(t *testing.T) {
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	writeFile(t, aliases, "a: one@remote.example\n")
	clk := newClock()
	d := New(params([]string{aliases}, filepath.Join(dir, "accounts"), true), maillog.Discard(), clk.Now)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				m, err := d.Lookup("a@example.test")
				if err != nil || m.Kind != Alias {
					t.Errorf("goroutine %d: Lookup = %+v, %v", i, m, err)
					return
				}
				d.Account("x@example.test")
			}
		}()
	}
	// Rewrite the file the safe way, by rename, so every read sees a whole
	// file. (An in-place rewrite can be read half-written; see the report.)
	for i := range 20 {
		tmp := filepath.Join(dir, "aliases.tmp")
		writeFile(t, tmp, "a: one@remote.example\n"+strings.Repeat("#\n", i))
		if err := os.Rename(tmp, aliases); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	wg.Wait()
}

// TestUnreadableAtStartIsAnError: an aliases file that exists but cannot
// be read makes every answer unknowable. Lookup must say so with an error
// (smtpd answers 451, local defers) rather than call every alias an
// unknown user (smtpd answers 550, and mail is lost for good).
func TestUnreadableAtStartIsAnError(t *testing.T) {
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	if err := os.Mkdir(aliases, 0o755); err != nil {
		t.Fatal(err)
	}
	d := New(params([]string{aliases}, "", false), maillog.Discard(), newClock().Now)
	if m, err := d.Lookup("postmaster@example.test"); err == nil {
		t.Errorf("Lookup = %+v, nil; want an error", m)
	}
}

func TestAuthenticate(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts")
	writeFile(t, accounts, "demo@example.test:{PLAIN}secret\nnopw@example.test:\n")
	d := New(params(nil, accounts, false), maillog.Discard(), newClock().Now)
	tests := []struct {
		user, password string
		ok             bool
	}{
		{"demo@example.test", "secret", true},
		{"DEMO@Example.Test", "secret", true},
		{"demo@example.test", "Secret", false},
		{"demo@example.test", "", false},
		{"nopw@example.test", "", false},
		{"unknown@example.test", "secret", false},
	}
	for _, tt := range tests {
		a, ok := d.Authenticate(tt.user, tt.password)
		if ok != tt.ok || ok && (a == nil || a.Address != "demo@example.test") {
			t.Errorf("Authenticate(%q, %q) = %v, %v; want ok=%v", tt.user, tt.password, a, ok, tt.ok)
		}
	}
	// No accounts file at all.
	d = New(params(nil, filepath.Join(dir, "missing"), false), maillog.Discard(), newClock().Now)
	if a, ok := d.Authenticate("demo@example.test", "secret"); ok {
		t.Errorf("Authenticate without accounts = %v, true", a)
	}
}

// TestCheckEvery: by default a change is seen at most a second late;
// with CheckEvery(0), as local uses, at the next lookup.
func TestCheckEvery(t *testing.T) {
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	writeFile(t, aliases, "a: one@remote.example\n")
	clk := newClock()
	d := New(params([]string{aliases}, "", false), maillog.Discard(), clk.Now)
	target := func() string {
		t.Helper()
		m, err := d.Lookup("a@example.test")
		if err != nil {
			t.Fatal(err)
		}
		return targets(m)
	}
	target()
	writeFile(t, aliases, "a: second@remote.example\n")
	if got := target(); got != "one@remote.example" {
		t.Errorf("default: within the second a = %q, want the old target", got)
	}
	d.CheckEvery(0)
	if got := target(); got != "second@remote.example" {
		t.Errorf("CheckEvery(0): a = %q, want the new target at once", got)
	}
}

// TestPostmasterFallsBackToRoot: RFC 5321 §4.5.1 requires postmaster in
// every domain; without an alias or account of its own, it is root's.
func TestPostmasterFallsBackToRoot(t *testing.T) {
	dir := t.TempDir()
	aliases := filepath.Join(dir, "aliases")
	accounts := filepath.Join(dir, "accounts")
	writeFile(t, accounts, "admin@example.test:{PLAIN}x\n")
	writeFile(t, aliases, "root: admin@example.test\n")
	d := New(params([]string{aliases}, accounts, false), maillog.Discard(), newClock().Now)
	for _, addr := range []string{"postmaster@example.test", "PostMaster+x@Other.Example.Test"} {
		m, err := d.Lookup(addr)
		if err != nil || m.Kind != Alias || m.Key != "root" {
			t.Errorf("Lookup(%q) = %+v, %v; want root's alias", addr, m, err)
		}
	}
	// An alias of its own wins.
	writeFile(t, aliases, "root: admin@example.test\npostmaster: other@example.test\n")
	d = New(params([]string{aliases}, accounts, false), maillog.Discard(), newClock().Now)
	if m, _ := d.Lookup("postmaster@example.test"); m.Key != "postmaster" {
		t.Errorf("postmaster resolved through %q, want its own alias", m.Key)
	}
	// Nobody at all: still unknown, never a loop.
	writeFile(t, aliases, "")
	d = New(params([]string{aliases}, accounts, false), maillog.Discard(), newClock().Now)
	if m, err := d.Lookup("postmaster@example.test"); err != nil || m.Kind != Unknown {
		t.Errorf("Lookup without root = %+v, %v", m, err)
	}
}
