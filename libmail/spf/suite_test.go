package spf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"postern.dev/postern/libmail/dns"
)

// defaultSuite is the RFC 7208 test suite of the OpenSPF project, copied
// from the project's shared test data with its license.
const defaultSuite = "testdata/rfc7208-tests.yml"

// suiteScenario is one YAML document of a suite: tests sharing DNS data.
type suiteScenario struct {
	Description string               `yaml:"description"`
	Tests       map[string]suiteCase `yaml:"tests"`
	Zonedata    map[string][]yaml.Node
}

// suiteCase is one test: a client (host), its HELO and MAIL FROM, and
// the results allowed (the first is preferred).
type suiteCase struct {
	Description string     `yaml:"description"`
	Spec        stringList `yaml:"spec"`
	Helo        string     `yaml:"helo"`
	Host        string     `yaml:"host"`
	MailFrom    string     `yaml:"mailfrom"`
	Result      stringList `yaml:"result"`
	Explanation *string    `yaml:"explanation"`
}

// stringList is a YAML string or list of strings.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		return n.Decode((*[]string)(l))
	}
	*l = []string{n.Value}
	return nil
}

// checkFunc evaluates the MAIL FROM identity as the suite defines it
// (RFC 7208 §2.4: a null sender is postmaster@helo) and returns the
// result's name and the explanation, "" when there is none.
type checkFunc func(ctx context.Context, r dns.Resolver, ip netip.Addr, helo, sender string) (result, explanation string)

// checkMailFrom is the implementation under test.
func checkMailFrom(ctx context.Context, r dns.Resolver, ip netip.Addr, helo, sender string) (string, string) {
	c := &Checker{Resolver: r}
	res := c.MailFrom(ctx, ip, helo, sender)
	return string(res.Verdict), res.Explanation
}

// TestSuite runs every case of the RFC 7208 test suite, and of the file
// of the same format that SPF_SUITE names, if set, on the suite's DNS
// data in memory.
func TestSuite(t *testing.T) {
	for _, f := range suiteFiles() {
		t.Run(filepath.Base(f), func(t *testing.T) {
			passed, total := runSuite(t, f, memoryResolver, checkMailFrom)
			t.Logf("%s: %d of %d cases pass", f, passed, total)
		})
	}
}

// suiteFiles are the suites to run: the default one, and the one
// SPF_SUITE names, absolute or relative to this package's directory,
// where go test runs.
func suiteFiles() []string {
	files := []string{defaultSuite}
	if f := os.Getenv("SPF_SUITE"); f != "" {
		files = append(files, f)
	}
	return files
}

func memoryResolver(t *testing.T, z *zone) dns.Resolver { return z }

// readSuite decodes the scenarios of a suite file.
func readSuite(t *testing.T, path string) []suiteScenario {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []suiteScenario
	dec := yaml.NewDecoder(f)
	for {
		var s suiteScenario
		err := dec.Decode(&s)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: scenario %d: %v", path, len(out)+1, err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no scenarios", path)
	}
	return out
}

// runSuite runs every case of a suite file through check, each as a
// subtest, on the resolver that resolverFor makes of a scenario's zone,
// and returns how many passed of how many.
func runSuite(t *testing.T, path string, resolverFor func(*testing.T, *zone) dns.Resolver, check checkFunc) (passed, total int) {
	for i, sc := range readSuite(t, path) {
		z, err := loadZone(sc.Zonedata)
		if err != nil {
			t.Fatalf("%s: scenario %q: %v", path, sc.Description, err)
		}
		r := resolverFor(t, z)
		names := make([]string, 0, len(sc.Tests))
		for name := range sc.Tests {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			total++
			if t.Run(fmt.Sprintf("%02d/%s", i+1, name), func(t *testing.T) {
				runCase(t, r, sc.Tests[name], check)
			}) {
				passed++
			}
		}
	}
	return passed, total
}

func runCase(t *testing.T, r dns.Resolver, tc suiteCase, check checkFunc) {
	ip, err := netip.ParseAddr(tc.Host)
	if err != nil {
		t.Fatalf("host %q: %v", tc.Host, err)
	}
	got, exp := check(t.Context(), r, ip, tc.Helo, tc.MailFrom)
	if !slices.Contains(tc.Result, got) {
		t.Errorf("%s (RFC 7208 %s)\nhelo %q, host %s, mailfrom %q: result %s, want %s",
			strings.TrimSpace(tc.Description), strings.Join(tc.Spec, ", "), tc.Helo, tc.Host, tc.MailFrom,
			got, strings.Join(tc.Result, " or "))
	}
	// The suite's drivers set "DEFAULT" as the explanation a receiver
	// gives when the domain gives none (RFC 7208 §6.2).
	if exp == "" {
		exp = "DEFAULT"
	}
	if tc.Explanation != nil && exp != *tc.Explanation {
		t.Errorf("%s: explanation %q, want %q", strings.TrimSpace(tc.Description), exp, *tc.Explanation)
	}
}
