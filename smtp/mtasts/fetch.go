package mtasts

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"postern.dev/postern/libmail/dns"
)

// Fetcher discovers policies and caches them in memory. It is safe for
// concurrent use. Two concurrent Gets for the same uncached domain may
// both fetch; the second result simply replaces the first.
type Fetcher struct {
	resolver dns.Resolver
	client   *http.Client
	now      func() time.Time
	cache    *cache
}

// NewFetcher returns a Fetcher that looks TXT records up with r and
// fetches policies with a copy of client, which must verify certificates
// against the roots the caller chose (RFC 8461 §3.3 requires a PKIX-valid
// certificate for mta-sts.<domain>). The copy never follows redirects,
// which RFC 8461 §3.3 forbids; client itself is not changed. now is the
// clock that ages cached policies.
func NewFetcher(r dns.Resolver, client *http.Client, now func() time.Time) *Fetcher {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error {
		// Return the 3xx response itself, which fetch then refuses.
		return http.ErrUseLastResponse
	}
	return &Fetcher{resolver: r, client: &c, now: now, cache: newCache(cacheSize)}
}

// Get returns domain's policy, or nil if it has none. domain is an ASCII
// (A-label) domain name; case and a trailing dot do not matter. A policy in mode
// none is returned as it is; the caller treats it as no policy. An error
// means no policy could be determined; the caller proceeds without one
// but should log why.
//
// Following RFC 8461 §5.1, a cached policy still within its max_age wins
// whenever nothing better is known: when the TXT record is missing,
// malformed or unreachable, when its id is the cached one, and when
// fetching a new policy fails. Only a successfully fetched policy
// replaces it.
func (f *Fetcher) Get(ctx context.Context, domain string) (*Policy, error) {
	domain = normalize(domain)
	if !validHost(domain) {
		return nil, fmt.Errorf("mta-sts: bad domain %q", domain)
	}
	now := f.now()
	cached := f.cache.get(domain, now)
	txts, err := f.resolver.LookupTXT(ctx, "_mta-sts."+domain)
	if err != nil && !dns.IsNotFound(err) {
		if cached != nil {
			return cached, nil
		}
		return nil, fmt.Errorf("mta-sts: %s: %w", domain, err)
	}
	id, ok := recordID(txts)
	if !ok {
		return cached, nil
	}
	if cached != nil && cached.ID == id {
		return cached, nil
	}
	p, err := f.fetch(ctx, domain)
	if err != nil {
		if cached != nil {
			return cached, nil
		}
		return nil, err
	}
	p.ID, p.Fetched = id, now
	f.cache.put(domain, p, now)
	return p, nil
}

// fetch gets and parses https://mta-sts.<domain>/.well-known/mta-sts.txt
// under the rules of RFC 8461 §3.3: status 200 only, media type
// text/plain, at most MaxBody bytes.
func (f *Fetcher) fetch(ctx context.Context, domain string) (*Policy, error) {
	url := "https://mta-sts." + domain + "/.well-known/mta-sts.txt"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("mta-sts: %s: %w", domain, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("mta-sts: %s: %w", domain, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if loc := resp.Header.Get("Location"); loc != "" {
			return nil, fmt.Errorf("mta-sts: %s: status %s, redirect to %s not followed", url, resp.Status, loc)
		}
		return nil, fmt.Errorf("mta-sts: %s: status %s", url, resp.Status)
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/plain" {
		return nil, fmt.Errorf("mta-sts: %s: content type %q, want text/plain", url, ct)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("mta-sts: %s: %w", url, err)
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("mta-sts: %s: policy larger than %d bytes", url, MaxBody)
	}
	p, err := Parse(body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err) // err says "mta-sts policy"
	}
	return p, nil
}
