package config

// Params holds every parameter. Each field's tags are the parameter table:
// `toml` is the name, `default` the default value as text (lists are
// comma-separated), `doc` the one-line documentation. Table derives the
// table from these tags by reflection, so a parameter cannot exist without
// its default and documentation. The embedded structs are the sections of
// the shipped configuration file and of the man page.
type Params struct {
	General
	Queue
	SMTPD
	Postscreen
	Limits
	DKIM
	SMTP
	Local
	Login
	Pickup
	Master
	Logging
}

// General describes the mail system as a whole.
type General struct {
	MyHostname         string   `toml:"myhostname" default:"" doc:"The fully qualified name of this mail system, used in the SMTP greeting, Received: headers and bounces; empty means the machine's hostname."`
	MyDomain           string   `toml:"mydomain" default:"" doc:"The domain of this mail system; empty means myhostname without its first label."`
	MyOrigin           string   `toml:"myorigin" default:"$myhostname" doc:"The domain appended to unqualified addresses in locally submitted mail."`
	MyDestination      []string `toml:"mydestination" default:"$myhostname, localhost.$mydomain, localhost" doc:"The domains delivered on this machine: their recipients are aliases, accounts or system users, and unknown ones are rejected at RCPT."`
	MyNetworks         []string `toml:"mynetworks" default:"127.0.0.0/8, [::1]/128" doc:"Networks (CIDR) of trusted clients that may relay mail to any destination."`
	RelayHost          string   `toml:"relayhost" default:"" doc:"Send all non-local mail through this host: host, [host] (no MX lookup), with an optional :port; empty means deliver directly."`
	MailName           string   `toml:"mail_name" default:"postern" doc:"The name of the mail system, shown in the SMTP greeting and Received: headers."`
	MailOwner          string   `toml:"mail_owner" default:"postern" doc:"The unprivileged user that owns the queue and runs the daemons."`
	VmailUser          string   `toml:"vmail_user" default:"vmail" doc:"The unprivileged user that owns the virtual accounts' mailboxes."`
	DefaultPrivs       string   `toml:"default_privs" default:"nobody" doc:"The user that runs commands and file deliveries from an aliases file owned by root, and opens the :include: files it names."`
	RecipientDelimiter string   `toml:"recipient_delimiter" default:"+" doc:"Separates a local part from its extension (user+ext@domain is delivered to user); empty disables extensions."`
	MessageSizeLimit   int64    `toml:"message_size_limit" default:"10240000" doc:"The largest message accepted, in bytes, including the headers postern adds."`
	HeaderSizeLimit    int      `toml:"header_size_limit" default:"102400" doc:"The longest header section smtpd takes in, in bytes; past it smtpd ends the header with an empty line and keeps the rest as body, so that every agent can read the header of whatever was accepted."`
	AliasMaps          []string `toml:"alias_maps" default:"/etc/aliases" doc:"Aliases files in the aliases(5) format, searched in order; local parts in every local domain are looked up."`
	AccountsFile       string   `toml:"accounts_file" default:"/etc/postern/accounts" doc:"Virtual accounts in Dovecot's passwd-file format (address:{SCHEME}hash:::::home)."`
	LocalSystemUsers   bool     `toml:"local_system_users" default:"true" doc:"Deliver to the users of the system's user database (/etc/passwd) in the local domains, into their home Maildir."`
	VirtualMailboxBase string   `toml:"virtual_mailbox_base" default:"/var/mail/vhosts" doc:"Where virtual accounts' Maildirs live, as BASE/domain/localpart/, unless the account names a home."`
	MailboxQuota       int64    `toml:"mailbox_quota" default:"0" doc:"The storage limit of each mailbox (all folders of a Maildir), in bytes; 0 means none. local defers mail to a full mailbox (4.2.2) instead of bouncing it, and IMAP reports the quota (GETQUOTAROOT). An account's own limit in the accounts file's extra fields, Dovecot's userdb_quota_rule=*:storage=1G (K, M, G, T are powers of 1024), overrides it. Use is kept in the Maildir++ maildirsize file."`
	SMTPUTF8Enable     bool     `toml:"smtputf8_enable" default:"true" doc:"Accept internationalized addresses (RFC 6531 SMTPUTF8)."`
	DefaultTransport   string   `toml:"default_transport" default:"smtp" doc:"The delivery service for recipients that are not local and not routed by transport_maps: a unix service of the service table that runs a delivery agent. smtp names the built-in outbound service, as in Postfix."`
	LocalTransport     string   `toml:"local_transport" default:"local" doc:"The delivery service for recipients in mydestination."`
	TransportMaps      []string `toml:"transport_maps" default:"" doc:"Routes by destination, each \"DESTINATION TRANSPORT:NEXTHOP\" (\"example.org smtp:[relay.example.org]:587\", \".example.org smtp:\", \"example.net local:\"); TRANSPORT is a delivery service of the service table (smtp names the built-in outbound one; a [services.relay] row running smtp makes relay a transport of its own); a leading dot matches subdomains; an empty NEXTHOP means the recipient's domain. Consulted before mydestination and relayhost."`
	DNSServers         []string `toml:"dns_servers" default:"" doc:"Name servers to ask, as IP or IP:port; empty means those in /etc/resolv.conf. DANE trusts their AD bit, so they must validate DNSSEC and be reached over a trusted path (loopback)."`

	AlwaysAddMissingHeaders bool `toml:"always_add_missing_headers" default:"false" doc:"Add Date: and Message-ID: to messages that lack them from every client; by default only submissions (authenticated sessions) and local mail get them (RFC 6409 section 8), never mail relayed on port 25 (RFC 5321 section 6.4)."`
}

// Queue is about the spool and the queue manager.
type Queue struct {
	SyncMethod                                     string   `toml:"sync_method" default:"syncfs" doc:"How new queue files, delivery records and delivered Maildir files are made durable before 250 or delivered: syncfs (one syncfs(2) of the filesystem per batch, shared by every session and delivery committing at once; it also writes what other programs left dirty on that filesystem, so it suits a spool and mail store that do not share a filesystem with heavy writers), fsync (each file's data, then its directory, directory flushes shared; Postfix's way), none (nothing; benchmarks only, a crash loses mail)."`
	QueueDirectory                                 string   `toml:"queue_directory" default:"/var/spool/postern" doc:"The spool: queue directories and the sockets between the daemons."`
	DaemonDirectory                                string   `toml:"daemon_directory" default:"/usr/lib/postern" doc:"Where the master and the daemon programs are installed."`
	QueueRunDelay                                  Duration `toml:"queue_run_delay" default:"300s" doc:"How often the queue manager scans the deferred queue."`
	QmgrScanInterval                               Duration `toml:"qmgr_scan_interval" default:"10s" doc:"How often the queue manager scans the incoming queue without being woken, so a lost wake-up only delays mail."`
	MinimalBackoffTime                             Duration `toml:"minimal_backoff_time" default:"300s" doc:"The shortest time a deferred message waits before the next attempt."`
	MaximalBackoffTime                             Duration `toml:"maximal_backoff_time" default:"4000s" doc:"The longest time a deferred message waits before the next attempt."`
	MaximalQueueLifetime                           Duration `toml:"maximal_queue_lifetime" default:"5d" doc:"How long a message may stay deferred before it is returned as undeliverable."`
	BounceQueueLifetime                            Duration `toml:"bounce_queue_lifetime" default:"5d" doc:"How long a bounce (null sender) may stay deferred before it is discarded."`
	BounceSizeLimit                                int64    `toml:"bounce_size_limit" default:"50000" doc:"The most bytes of the original message returned in a delivery status notification; a larger message is returned as its header only."`
	QmgrMessageActiveLimit                         int      `toml:"qmgr_message_active_limit" default:"20000" doc:"The most messages the queue manager keeps in the active queue; scanning pauses while it is full."`
	LocalDeliveryConcurrency                       int      `toml:"local_delivery_concurrency" default:"64" doc:"The most local deliveries in progress at once."`
	InitialDestinationConcurrency                  int      `toml:"initial_destination_concurrency" default:"5" doc:"How many deliveries to one remote destination may run at once before any has succeeded (slow start)."`
	DefaultDestinationConcurrencyLimit             int      `toml:"default_destination_concurrency_limit" default:"20" doc:"The most deliveries to one remote destination at once."`
	DefaultDestinationRecipientLimit               int      `toml:"default_destination_recipient_limit" default:"50" doc:"The most recipients of one message in one delivery to a remote destination."`
	DefaultDestinationRateDelay                    Duration `toml:"default_destination_rate_delay" default:"0s" doc:"The pause between two deliveries to the same remote destination; non-zero also limits it to one at a time."`
	DefaultDestinationConcurrencyFailedCohortLimit int      `toml:"default_destination_concurrency_failed_cohort_limit" default:"1" doc:"How many consecutive failed connections (cohorts) mark a destination dead: its mail is deferred without trying until the next queue run."`
	DelayWarningTime                               Duration `toml:"delay_warning_time" default:"0s" doc:"Tell the sender when a message has been delayed this long (a delay DSN); 0 means never."`
}

// SMTPD is about the SMTP server.
type SMTPD struct {
	SMTPDRecipientLimit             int      `toml:"smtpd_recipient_limit" default:"1000" doc:"The most recipients accepted for one message."`
	SMTPDTimeout                    Duration `toml:"smtpd_timeout" default:"300s" doc:"How long the SMTP server waits for a client's command or data before it hangs up."`
	SMTPDClientConnectionCountLimit int      `toml:"smtpd_client_connection_count_limit" default:"50" doc:"The most simultaneous connections from one client (an IPv4 address or an IPv6 /64) to all smtpd processes and services together, as counted by anvil; clients in smtpd_client_event_limit_exceptions are exempt. The next one gets 421 4.7.0. While anvil cannot be reached, each smtpd process applies it to its own connections. 0 means no limit."`
	SMTPDProcessConnectionLimit     int      `toml:"smtpd_process_connection_limit" default:"1000" doc:"The most simultaneous connections one smtpd process serves. When all are taken smtpd is under stress, until they are down to three quarters: it uses smtpd_stress_timeout and smtpd_stress_hard_error_limit, and makes room for each new client by closing (421) the session that has waited longest for a command outside a transaction."`
	SMTPDHardErrorLimit             int      `toml:"smtpd_hard_error_limit" default:"20" doc:"The most error replies a client gets before it is disconnected with 421."`
	SMTPDStressTimeout              Duration `toml:"smtpd_stress_timeout" default:"10s" doc:"smtpd_timeout while smtpd is under stress (Postfix: smtpd_timeout = ${stress?{10}:{300}}s); it also shortens the waits already in progress."`
	SMTPDStressHardErrorLimit       int      `toml:"smtpd_stress_hard_error_limit" default:"1" doc:"smtpd_hard_error_limit while smtpd is under stress (Postfix: ${stress?{1}:{20}})."`
	SMTPDLineLengthLimit            int      `toml:"smtpd_line_length_limit" default:"2048" doc:"The longest SMTP command line accepted, in bytes, without its CRLF (message lines have no limit); a longer one is refused with 500 5.5.2. At most 16382."`
	SMTPDPeernameLookup             bool     `toml:"smtpd_peername_lookup" default:"true" doc:"Look up the client's name in the DNS (PTR) for logs and Received: headers."`
	SMTPDTLSCertFile                string   `toml:"smtpd_tls_cert_file" default:"" doc:"PEM certificate chain for STARTTLS and implicit TLS; empty disables TLS."`
	SMTPDTLSKeyFile                 string   `toml:"smtpd_tls_key_file" default:"" doc:"PEM private key for smtpd_tls_cert_file."`
	SMTPDTLSSecurityLevel           string   `toml:"smtpd_tls_security_level" default:"may" doc:"may: offer STARTTLS when a certificate is configured; encrypt: also require it before MAIL; none: never offer it."`
	SMTPDTLSWrapperMode             bool     `toml:"smtpd_tls_wrappermode" default:"false" doc:"Speak TLS from the first byte (submissions on port 465, RFC 8314)."`
	SMTPDSASLAuthEnable             bool     `toml:"smtpd_sasl_auth_enable" default:"false" doc:"Offer AUTH PLAIN and LOGIN against accounts_file; authenticated clients may relay."`
	SMTPDTLSAuthOnly                bool     `toml:"smtpd_tls_auth_only" default:"true" doc:"Offer AUTH only on TLS connections; AUTH on a clear one gets 538 5.7.11 (RFC 4954 section 6)."`
	SMTPDSASLAuthRequired           bool     `toml:"smtpd_sasl_auth_required" default:"false" doc:"Refuse MAIL FROM with 530 5.7.0 until the client has authenticated (RFC 4954 section 6), whatever its address: the built-in submission and submissions services set it, and a service's overrides may clear it. Needs smtpd_sasl_auth_enable."`
	SMTPDSenderLoginCheck           bool     `toml:"smtpd_sender_login_check" default:"true" doc:"An authenticated client may use as MAIL FROM and in From: only addresses its account owns: its own (with any address extension), the aliases whose expansion reaches it, and what smtpd_sender_login_maps gives it; others get 553 5.7.1 (Postfix: reject_authenticated_sender_login_mismatch). The null sender is allowed. Unauthenticated sessions are not affected."`
	SMTPDSenderLoginMaps            []string `toml:"smtpd_sender_login_maps" default:"" doc:"Files of further sender owners for smtpd_sender_login_check, one entry a line: \"ADDRESS LOGIN, LOGIN...\" where ADDRESS is user@domain or @domain (every address in it) and each LOGIN an account; # starts a comment. The first entry that matches the address, then the address without its extension, then its @domain, is the one. Reread when they change."`
}

// Postscreen is about postscreen(8), the front of the MX port: it holds
// each new client while it tests it and hands those that pass to smtpd.
type Postscreen struct {
	PostscreenEnable                     bool     `toml:"postscreen_enable" default:"true" doc:"Run postscreen in front of smtpd on the smtp service (port 25): the smtp service runs postscreen instead of smtpd (unless its table names another command), and the smtpd service (private/smtpd) serves the clients postscreen passes on. The submission services are never screened. postern sandbox sets it to false."`
	PostscreenGreetBanner                string   `toml:"postscreen_greet_banner" default:"$myhostname ESMTP $mail_name" doc:"The text of the first line of a multi-line greeting (220-) that postscreen sends to a new client before postscreen_greet_wait: a client that speaks before smtpd's final 220 line fails the pregreet test. Empty sends nothing first."`
	PostscreenGreetWait                  Duration `toml:"postscreen_greet_wait" default:"6s" doc:"How long postscreen waits, with a new client, for it to talk out of turn (the pregreet test) and for the DNS list answers (later ones are ignored)."`
	PostscreenGreetAction                string   `toml:"postscreen_greet_action" default:"enforce" doc:"What happens to a client that talks before its turn: enforce answers 421 4.7.1 and disconnects it; ignore only logs it and lets it pass."`
	PostscreenDNSBLSites                 []string `toml:"postscreen_dnsbl_sites" default:"" doc:"DNS block and allow lists to ask about each new client, as zone, zone=pattern or either with *weight (zone=127.0.0.[2..11]*3): the client's reversed address under the zone is looked up (A), and an answer that matches the pattern (any 127.0.0.0/8 address if none; octets, [n..m] ranges and [a;b] lists; several patterns joined by ;) adds the weight (1 if none; negative for allow lists) to its score. A zone listed twice counts once per matching entry."`
	PostscreenDNSBLThreshold             int      `toml:"postscreen_dnsbl_threshold" default:"1" doc:"The DNS list score at which a client fails the DNSBL test."`
	PostscreenDNSBLAllowlistThreshold    int      `toml:"postscreen_dnsbl_allowlist_threshold" default:"0" doc:"A score at or below which (when negative) a client passes at once, without waiting out postscreen_greet_wait; 0 turns this off."`
	PostscreenDNSBLAction                string   `toml:"postscreen_dnsbl_action" default:"enforce" doc:"What happens to a client whose score reaches postscreen_dnsbl_threshold: enforce answers 421 4.7.1 and disconnects it; ignore only logs it."`
	PostscreenCacheTTL                   Duration `toml:"postscreen_cache_ttl" default:"1d" doc:"How long a client that passed every test is remembered: until then its connections go straight to smtpd (PASS OLD) without tests. The cache is in postscreen's memory; a restart empties it."`
	PostscreenCacheLimit                 int      `toml:"postscreen_cache_limit" default:"100000" doc:"The most clients the cache remembers; when it is full, expired entries are forgotten first, then arbitrary ones."`
	PostscreenAccessList                 []string `toml:"postscreen_access_list" default:"permit_mynetworks" doc:"The permanent allow and deny list, searched in order, first match wins: permit_mynetworks, permit CIDR (passes without tests: ALLOWLISTED) and reject CIDR (421 4.7.1 at once: DENYLISTED)."`
	PostscreenClientConnectionCountLimit int      `toml:"postscreen_client_connection_count_limit" default:"50" doc:"The most simultaneous connections postscreen holds from one client address; the next gets 421 4.7.0. 0 means no limit."`
	PostscreenConnectionLimit            int      `toml:"postscreen_connection_limit" default:"20000" doc:"The most clients postscreen holds at once in its tests (each costs a descriptor and a few KiB); the next gets 421 4.3.2 until one leaves."`
}

// Limits are the limits smtpd puts on clients and authenticated users
// across all its processes and services, counted by anvil(8) (Postfix's
// anvil limits, and postern's own for users and AUTH failures).
type Limits struct {
	AnvilRateTimeUnit               Duration `toml:"anvil_rate_time_unit" default:"60s" doc:"The time unit of every rate limit: a client's or user's events are counted from the first one until this much time has passed, then from zero again (as Postfix's anvil does)."`
	SMTPDClientEventLimitExceptions []string `toml:"smtpd_client_event_limit_exceptions" default:"$mynetworks" doc:"Clients (networks in CIDR or addresses) to which no per-client limit applies: connections, rates, AUTH failures and the AUTH failure delay. Per-user limits still apply to their users."`
	SMTPDClientConnectionRateLimit  int      `toml:"smtpd_client_connection_rate_limit" default:"0" doc:"The most connections one client may make per anvil_rate_time_unit, over all smtpd services; the next gets 421 4.7.0 and is closed. 0 means no limit."`
	SMTPDClientMessageRateLimit     int      `toml:"smtpd_client_message_rate_limit" default:"0" doc:"The most MAIL FROM commands one client may have accepted per anvil_rate_time_unit; the next gets 450 4.7.1. 0 means no limit."`
	SMTPDClientRecipientRateLimit   int      `toml:"smtpd_client_recipient_rate_limit" default:"0" doc:"The most RCPT TO commands one client may have accepted per anvil_rate_time_unit; the next gets 450 4.7.1. 0 means no limit."`
	SMTPDClientAuthRateLimit        int      `toml:"smtpd_client_auth_rate_limit" default:"0" doc:"The most AUTH commands one client may send per anvil_rate_time_unit, failed or not; the next gets 450 4.7.1. 0 means no limit."`
	SMTPDUserMessageRateLimit       int      `toml:"smtpd_user_message_rate_limit" default:"0" doc:"The most MAIL FROM commands one authenticated user (sasl_username) may have accepted per anvil_rate_time_unit, from any client and over all services: what a stolen password can send. The next gets 450 4.7.1. 0 means no limit."`
	SMTPDUserRecipientRateLimit     int      `toml:"smtpd_user_recipient_rate_limit" default:"0" doc:"The most RCPT TO commands one authenticated user may have accepted per anvil_rate_time_unit, from any client and over all services; the next gets 450 4.7.1. 0 means no limit."`
	SMTPDAuthFailureLimit           int      `toml:"smtpd_auth_failure_limit" default:"10" doc:"The number of failed AUTH exchanges from one client per anvil_rate_time_unit, over all services, that ends its session: the failure that reaches it, and every AUTH from the client until the time unit is over, get 421 4.7.0 and the connection is closed, with a log line for fail2ban. 0 means no limit."`
	SMTPDAuthFailureDelay           Duration `toml:"smtpd_auth_failure_delay" default:"1s" doc:"How long smtpd waits before it answers a failed AUTH; the wait doubles with each further failure of the client within anvil_rate_time_unit (or of the session, if more), up to smtpd_auth_failure_max_delay. Other sessions are not held up. 0 means no wait."`
	SMTPDAuthFailureMaxDelay        Duration `toml:"smtpd_auth_failure_max_delay" default:"16s" doc:"The longest wait before the answer to a failed AUTH (see smtpd_auth_failure_delay); never more than smtpd_timeout."`
}

// DKIM is about signing mail with DKIM (RFC 6376, RFC 8463).
type DKIM struct {
	SMTPDSenderAuthentication bool     `toml:"smtpd_sender_authentication" default:"true" doc:"Check the mail of clients that are neither authenticated nor in mynetworks (port 25's, as shipped): SPF (RFC 7208) at MAIL FROM, DKIM signatures (RFC 6376) as the message streams in, DMARC (RFC 7489) at its end; write the results in one Authentication-Results: field (RFC 8601) on top of the message, and act on a failed DMARC policy as dmarc_reject_action and dmarc_quarantine_action say. A DNS failure or timeout is temperror and never refuses mail."`
	AuthenticationResultsID   string   `toml:"authentication_results_id" default:"$myhostname" doc:"The authserv-id of the Authentication-Results: field smtpd writes; incoming Authentication-Results: fields that claim it are removed (RFC 8601 section 5), whatever the client."`
	DMARCRejectAction         string   `toml:"dmarc_reject_action" default:"reject" doc:"What to do with mail that fails DMARC under a p=reject (or sp=reject) policy: reject (550 5.7.1 at the end of DATA, nothing queued), quarantine (delivered to the recipients' Junk folders) or none (delivered; the Authentication-Results: field tells)."`
	DMARCQuarantineAction     string   `toml:"dmarc_quarantine_action" default:"quarantine" doc:"What to do with mail that fails DMARC under a p=quarantine policy: reject, quarantine (the recipients' Junk folders) or none."`
	DKIMSigningKeys           []string `toml:"dkim_signing_keys" default:"" doc:"Private keys that sign mail, each \"DOMAIN SELECTOR FILE\" (\"example.org ed2026 /etc/postern/dkim/example.org.ed2026.key\"): mail whose From: address is in DOMAIN gets a DKIM-Signature (relaxed/relaxed, SHA-256) from every key of DOMAIN, so an RSA key and an Ed25519 key (RFC 8463) give two signatures; the key's type is the file's (PEM, PKCS#8; postern dkim keygen writes one and prints the TXT record to publish as SELECTOR._domainkey.DOMAIN). Mail is signed when it comes from an authenticated client, a client in mynetworks, or a local submission; mail from other clients is not. The files are read when the daemons that sign start, which refuse to start if one is unusable."`
}

// SMTP is about the outbound SMTP client.
type SMTP struct {
	SMTPHeloName                 string   `toml:"smtp_helo_name" default:"$myhostname" doc:"The name the SMTP client sends in EHLO and HELO."`
	SMTPTCPPort                  int      `toml:"smtp_tcp_port" default:"25" doc:"The port of mail exchangers found through MX or A records (a nexthop with :port overrides it)."`
	SMTPDeliveryConcurrency      int      `toml:"smtp_delivery_concurrency" default:"200" doc:"The most outbound deliveries in progress at once, over all destinations."`
	SMTPConnectTimeout           Duration `toml:"smtp_connect_timeout" default:"30s" doc:"How long the SMTP client waits for a TCP connection."`
	SMTPHeloTimeout              Duration `toml:"smtp_helo_timeout" default:"300s" doc:"How long the SMTP client waits for the greeting and the EHLO reply (and STARTTLS and each step of AUTH)."`
	SMTPMailTimeout              Duration `toml:"smtp_mail_timeout" default:"300s" doc:"How long the SMTP client waits for the reply to MAIL FROM."`
	SMTPRcptTimeout              Duration `toml:"smtp_rcpt_timeout" default:"300s" doc:"How long the SMTP client waits for the reply to RCPT TO."`
	SMTPDataInitTimeout          Duration `toml:"smtp_data_init_timeout" default:"120s" doc:"How long the SMTP client waits for the reply to DATA."`
	SMTPDataXferTimeout          Duration `toml:"smtp_data_xfer_timeout" default:"180s" doc:"How long the SMTP client waits for the server to take more message data."`
	SMTPDataDoneTimeout          Duration `toml:"smtp_data_done_timeout" default:"600s" doc:"How long the SMTP client waits for the reply to the end of the message."`
	SMTPQuitTimeout              Duration `toml:"smtp_quit_timeout" default:"300s" doc:"How long the SMTP client waits for the replies to RSET and QUIT."`
	SMTPTLSSecurityLevel         string   `toml:"smtp_tls_security_level" default:"may" doc:"Outbound TLS: none; may (STARTTLS when offered, plaintext retry when it fails); encrypt (TLS required, certificate not checked); verify (TLS with a certificate valid for the nexthop); dane (RFC 7672 where DNSSEC-signed TLSA records exist, may elsewhere)."`
	SMTPTLSPolicyMaps            []string `toml:"smtp_tls_policy_maps" default:"" doc:"TLS levels by destination, each \"DESTINATION LEVEL\" (\"example.org verify\", \".example.org encrypt\", \"[mx.example.net]:587 none\"); a leading dot matches subdomains."`
	SMTPTLSCAFile                string   `toml:"smtp_tls_CAfile" default:"" doc:"PEM file of certificate authorities trusted for verify and MTA-STS, besides the system's."`
	SMTPMTASTSEnable             bool     `toml:"smtp_mta_sts_enable" default:"false" doc:"Look up MTA-STS policies (RFC 8461) for destinations that have no TLS policy of their own, and enforce them."`
	SMTPConnectionCacheTimeLimit Duration `toml:"smtp_connection_cache_time_limit" default:"2s" doc:"How long an idle outbound connection is kept open for more mail to the same destination."`
	SMTPConnectionReuseTimeLimit Duration `toml:"smtp_connection_reuse_time_limit" default:"300s" doc:"How long one outbound connection is reused before it is closed."`
	SMTPLineLengthLimit          int      `toml:"smtp_line_length_limit" default:"998" doc:"The longest line of message data the SMTP client sends, in bytes, without its CRLF (RFC 5321 allows 998); a longer line is broken by inserting CRLF and a space, as Postfix does. 0 means no limit; otherwise at least 80."`
	SMTPSASLAuthEnable           bool     `toml:"smtp_sasl_auth_enable" default:"false" doc:"Authenticate (RFC 4954 AUTH, with PLAIN or LOGIN) to the servers of a nexthop that has credentials in smtp_sasl_password_maps, when they offer AUTH; a failed authentication defers the mail, with the server's reply."`
	SMTPSASLPasswordMaps         string   `toml:"smtp_sasl_password_maps" default:"" doc:"The file of credentials for smtp_sasl_auth_enable (one file, read as it is: no postmap), a line \"NEXTHOP USERNAME:PASSWORD\" each (\"[relay.example.com]:587 user@example.com:secret\"; the password is the rest of the line); NEXTHOP as relayhost or transport_maps write it, looked up as written, then without its port, then a [host] as host. Only the smtp agent reads it, and rereads it when it changes: make it 0600 owned by mail_owner, or 0640 root:mail_owner's group; a file with errors is not used."`
	SMTPSASLSecurityOptions      []string `toml:"smtp_sasl_security_options" default:"noplaintext, noanonymous" doc:"SASL options (Postfix's names) for sessions without TLS: noplaintext (as noactive, nodictionary and mutual_auth) keeps out PLAIN and LOGIN, which carry the password as it is, so mail that needs authentication over a session without TLS is deferred and the password never sent; noanonymous changes nothing (postern never logs in anonymously). Empty lets the password go without TLS. Inside TLS, PLAIN and LOGIN are always allowed."`
	SMTPSASLMechanismFilter      []string `toml:"smtp_sasl_mechanism_filter" default:"" doc:"The SASL mechanisms the SMTP client may use, of plain and login, in order of preference; the first the server offers is used. Empty means plain, then login."`
	DisableMIMEOutputConversion  bool     `toml:"disable_mime_output_conversion" default:"false" doc:"Send 8-bit message content as it is to a server that does not announce 8BITMIME, instead of converting 8-bit MIME parts to quoted-printable (RFC 6152)."`
}

// Local is about the local delivery agent.
type Local struct {
	HomeMailbox         string   `toml:"home_mailbox" default:"Maildir/" doc:"A system user's Maildir, relative to the home directory; it must end in /."`
	ForwardPath         []string `toml:"forward_path" default:"$home/.forward" doc:"Where a system user's .forward file is looked for; $home and $user are expanded."`
	AllowMailToCommands []string `toml:"allow_mail_to_commands" default:"alias, forward" doc:"Where |command deliveries are allowed: alias, forward, include."`
	AllowMailToFiles    []string `toml:"allow_mail_to_files" default:"alias, forward" doc:"Where /file deliveries are allowed: alias, forward, include."`
	CommandTimeLimit    Duration `toml:"command_time_limit" default:"1000s" doc:"How long a |command delivery may run before it is killed and the delivery deferred."`
	LocalCommandShell   string   `toml:"local_command_shell" default:"/bin/sh" doc:"The shell that runs |command deliveries, as SHELL -c COMMAND."`
}

// Pickup is about local submission: sendmail, and pickup, which takes
// what sendmail leaves in maildrop/ into the queue.
type Pickup struct {
	SendmailTrustedUsers []string `toml:"sendmail_trusted_users" default:"root, $mail_owner" doc:"Login names whose sendmail -f (or -r) sender is kept; the mail of anyone else is sent as LOGIN@$myorigin whatever -f says, with a warning in the log. The user mail_owner runs as is always trusted (so in a sandbox, whose daemons run as its user, that user is)."`
	PickupScanInterval   Duration `toml:"pickup_scan_interval" default:"60s" doc:"How often pickup looks in maildrop/ without being woken, so that mail left there while pickup was down or its wake-up was lost is taken in."`
	CommandDirectory     string   `toml:"command_directory" default:"/usr/sbin" doc:"Where the postern command is installed; sendmail runs postern queue list for -bp and mailq, and postern flush for -q, from the directory sendmail itself is in, or else from here."`
}

// Master is about the supervisor.
type Master struct {
	ServiceThrottleTime Duration `toml:"service_throttle_time" default:"60s" doc:"How long the master waits before restarting a daemon that died before it was ready."`
	MasterStopTimeout   Duration `toml:"master_stop_timeout" default:"30s" doc:"How long the master waits for daemons to finish their work on stop or reload before it kills them."`
	MetricsListen       string   `toml:"metrics_listen" default:"" doc:"Serve Prometheus metrics over HTTP at /metrics on this address (host:port, such as 127.0.0.1:9154), from the master; empty means off. Only a loopback address is accepted unless metrics_allow_remote is set: the counts tell who mails whom, and the endpoint has no authentication."`
	MetricsAllowRemote  bool     `toml:"metrics_allow_remote" default:"false" doc:"Accept a metrics_listen address that is not loopback. Put a firewall or an authenticating proxy in front of it."`
	MetricsDomainLimit  int      `toml:"metrics_domain_limit" default:"100" doc:"The most destination domains the delivery metrics keep apart; mail to further domains is counted under domain=\"other\", so the number of series stays bounded."`
}

// Logging is about the mail log.
type Logging struct {
	MaillogFile    string `toml:"maillog_file" default:"" doc:"Write the mail log to this file (or - for standard error); empty means syslog."`
	SyslogName     string `toml:"syslog_name" default:"postern" doc:"The program name prefix in log lines (postern/smtpd[pid])."`
	SyslogFacility string `toml:"syslog_facility" default:"mail" doc:"The syslog facility when logging to syslog."`
}
