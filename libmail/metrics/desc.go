package metrics

// Kind says how a metric adds up.
type Kind uint8

const (
	Counter Kind = iota
	Histogram
)

// Desc describes one metric the daemons report. The table below is the
// whole list: the master exposes exactly these, with these help texts,
// and rejects a snapshot naming anything else.
type Desc struct {
	Name    string
	Help    string
	Kind    Kind
	Labels  []string
	Buckets []float64 // upper bounds, for histograms
}

// domainLabel is the label whose values are capped (see Set.Domain).
const domainLabel = "domain"

// Other is the value a capped label takes beyond the limit.
const Other = "other"

// delayBuckets span a local delivery (milliseconds) to the end of the
// default maximal_queue_lifetime (5 days).
var delayBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400, 5 * 86400}

// The metrics. The delivery counters count recipients, one per to= log
// line, as pflogsumm counts them; received counts messages committed to
// the queue by smtpd (pflogsumm counts its "client=" lines, written at
// the first accepted RCPT: the two differ by the transactions refused or
// abandoned after that).
var (
	Received = &Desc{Name: "postern_messages_received_total", Kind: Counter, Labels: []string{"service"},
		Help: "Messages committed to the queue, by the service that received them."}
	Rejected = &Desc{Name: "postern_messages_rejected_total", Kind: Counter, Labels: []string{"service", "class"},
		Help: "SMTP commands refused and logged as \"reject:\", by service and by what refused them (relay, recipient, sender, dmarc, limit, auth, size, protocol, temporary, data, other)."}
	Delivered = &Desc{Name: "postern_messages_delivered_total", Kind: Counter, Labels: []string{"transport", domainLabel},
		Help: "Recipients delivered (status=sent), by transport and recipient domain."}
	Forwarded = &Desc{Name: "postern_messages_forwarded_total", Kind: Counter, Labels: []string{"transport", domainLabel},
		Help: "Recipients whose mail was queued again for other addresses (status=sent, forwarded as ...), by transport and recipient domain."}
	Deferred = &Desc{Name: "postern_messages_deferred_total", Kind: Counter, Labels: []string{"transport", domainLabel},
		Help: "Delivery attempts deferred (status=deferred), by transport and recipient domain."}
	Bounced = &Desc{Name: "postern_messages_bounced_total", Kind: Counter, Labels: []string{"transport", domainLabel},
		Help: "Recipients refused for good (status=bounced), by transport and recipient domain."}
	Expired = &Desc{Name: "postern_messages_expired_total", Kind: Counter, Labels: []string{"transport", domainLabel},
		Help: "Recipients returned after maximal_queue_lifetime (status=expired), by transport and recipient domain."}
	DeliveryDelay = &Desc{Name: "postern_delivery_delay_seconds", Kind: Histogram, Labels: []string{"transport"},
		Buckets: delayBuckets, Help: "Time from arrival in the queue to delivery (the log's delay=), of delivered and forwarded recipients, by transport."}
	Connections = &Desc{Name: "postern_smtpd_connections_total", Kind: Counter, Labels: []string{"service"},
		Help: "SMTP connections accepted, by service."}
	TLS = &Desc{Name: "postern_smtpd_tls_total", Kind: Counter, Labels: []string{"service", "mode", "version"},
		Help: "TLS sessions established by smtpd, by service, mode (starttls or wrapper) and protocol version."}
	OutboundTLS = &Desc{Name: "postern_smtp_tls_total", Kind: Counter, Labels: []string{"transport", "version"},
		Help: "TLS sessions the outbound SMTP client established, by transport and protocol version."}
)

// All lists every metric, in the order the master exposes them. None has
// more than maxLabels labels (TestTable).
var All = []*Desc{Received, Rejected, Delivered, Forwarded, Deferred, Bounced, Expired, DeliveryDelay, Connections, TLS, OutboundTLS}

// Lookup returns the metric named name, or nil.
func Lookup(name string) *Desc {
	for _, d := range All {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// domainIndex is the position of the capped label in d's labels, or -1.
func (d *Desc) domainIndex() int {
	for i, l := range d.Labels {
		if l == domainLabel {
			return i
		}
	}
	return -1
}
