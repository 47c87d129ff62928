package master

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/ipc/control"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/version"
)

// Options are the master's command-line settings.
type Options struct {
	ConfigPath string
	Verbose    bool
	// Stdout receives the human summary of what listens where, once the
	// system is ready (make run shows it); nil means os.Stdout.
	Stdout io.Writer
	// NotifySocket is systemd's NOTIFY_SOCKET: the master reports ready,
	// reloading and stopping there (Type=notify). Empty without systemd.
	NotifySocket string
}

// Master is the running supervisor. All its state is owned by the
// goroutine in loop; everything else talks to it through events.
type Master struct {
	opt      Options
	cfgPath  string
	cfg      *config.Config
	id       *identity
	log      *maillog.Logger
	logFile  *os.File // the mail log, when maillog_file names a file
	lock     *os.File
	ctl      net.Listener
	metrics  *collector // /metrics, when metrics_listen is set
	services map[string]*service
	events   chan any
	started  time.Time
	now      func() time.Time
	// later delivers ev to the loop after d (time.AfterFunc). The
	// throttle and stop timers go through it so that a test, which runs
	// the loop itself, decides when they fire.
	later func(d time.Duration, ev any)

	stopping  bool
	announced bool
	notify    notifier
}

// Events sent to the loop.
type (
	procExited struct {
		p   *proc
		err error
	}
	procReady    struct{ p *proc }
	throttleDone struct{ name string }
	ctlRequest   struct {
		req   control.Request
		reply chan control.Reply
	}
	stopTimeout struct{}
)

// Run starts the mail system and supervises it until ctx ends, SIGTERM or
// SIGINT arrives, or the admin asks it to stop.
func Run(ctx context.Context, opt Options) error {
	m, err := newMaster(opt)
	if err != nil {
		return err
	}
	defer m.lock.Close()
	if err := m.start(); err != nil {
		return err
	}
	return m.loop(ctx)
}

// newMaster reads the configuration, opens the log, makes the spool and
// takes its lock. Run and the tests share it; tests then set the clock
// and the timers before start.
func newMaster(opt Options) (*Master, error) {
	path, err := filepath.Abs(opt.ConfigPath)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(path, config.Options{})
	if err != nil {
		return nil, err
	}
	id, err := resolveIdentity(&cfg.Params)
	if err != nil {
		return nil, err
	}
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	m := &Master{opt: opt, cfgPath: path, cfg: cfg, id: id, services: map[string]*service{},
		events: make(chan any, 64), now: time.Now, notify: notifier{socket: opt.NotifySocket}}
	m.later = func(d time.Duration, ev any) { time.AfterFunc(d, func() { m.events <- ev }) }
	if err := m.openLog(); err != nil {
		return nil, err
	}
	m.metrics = newCollector(m.log, cfg.MetricsDomainLimit, cfg.QueueDirectory)
	if err := makeSpool(&cfg.Params, id); err != nil {
		return nil, err
	}
	if m.lock, err = lockSpool(cfg.QueueDirectory, cfg.MasterStopTimeout.D(), m.log.Info); err != nil {
		return nil, err
	}
	return m, nil
}

// start clears tmp/, opens the control socket, binds every service's
// sockets and starts the daemons.
func (m *Master) start() error {
	cfg := m.cfg
	if n := clearTmp(cfg.QueueDirectory); n > 0 {
		m.log.Info("removed %d unfinished entries from %s/", n, queue.Tmp)
	}
	if err := m.listenControl(); err != nil {
		return err
	}
	m.started = m.now()
	who := "root"
	if !m.id.root {
		who = "user " + m.id.owner.Name + " (daemons run as that user too)"
	}
	m.log.Info("daemon started -- version %s, configuration %s, running as %s", version.Version, m.cfgPath, who)
	if err := m.metrics.serve(cfg.MetricsListen, cfg.MetricsAllowRemote); err != nil {
		m.closeAll()
		m.log.Fatal("%v", err)
		return err
	}

	// Bind everything before starting anything, so a port that is taken
	// stops the system at once with a clear message.
	for _, sc := range cfg.Services {
		if !sc.Enabled {
			continue
		}
		files, err := m.bind(sc)
		if err != nil {
			m.closeAll()
			m.log.Fatal("%v", err)
			return err
		}
		m.services[sc.Name] = &service{cfg: sc, print: fingerprint(sc), files: files, procs: map[*proc]bool{}}
	}
	for _, s := range m.sorted() {
		m.ensureProcs(s)
	}
	return nil
}

func (m *Master) openLog() error {
	var err error
	switch f := m.cfg.MaillogFile; f {
	case "":
		m.log, err = maillog.New(maillog.Options{Name: m.cfg.SyslogName, Program: "master", Facility: m.cfg.SyslogFacility,
			Hostname: m.cfg.MyHostname, Verbose: m.opt.Verbose})
	case "-":
		m.log, err = maillog.New(maillog.Options{File: "-", Name: m.cfg.SyslogName, Program: "master",
			Hostname: m.cfg.MyHostname, Verbose: m.opt.Verbose})
	default:
		m.logFile, err = os.OpenFile(f, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
		if err != nil {
			return fmt.Errorf("open maillog_file: %w", err)
		}
		m.log, err = maillog.New(maillog.Options{File: "-", Stderr: m.logFile, Name: m.cfg.SyslogName, Program: "master",
			Hostname: m.cfg.MyHostname, Verbose: m.opt.Verbose})
	}
	return err
}

func (m *Master) loop(ctx context.Context) error {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	signal.Ignore(syscall.SIGPIPE)
	defer signal.Stop(sigs)
	done := ctx.Done()
	for {
		if m.stopping && m.procCount() == 0 {
			m.closeAll()
			m.log.Info("terminating")
			fmt.Fprintln(m.opt.Stdout, "postern: stopped")
			return nil
		}
		select {
		case <-done:
			done = nil
			m.stop("context ended")
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				if err := m.reloadTold(); err != nil {
					m.log.Warn("reload: %v", err)
				}
			default:
				m.stop("signal " + sig.String())
			}
		case ev := <-m.events:
			m.handle(ev)
		}
	}
}

func (m *Master) handle(ev any) {
	switch e := ev.(type) {
	case procExited:
		m.exited(e.p, e.err)
	case procReady:
		e.p.ready = true
		if !m.announced && m.ready() {
			m.announced = true
			m.announce()
		}
	case throttleDone:
		if s := m.services[e.name]; s != nil && !m.now().Before(s.throttledUntil) {
			m.ensureProcs(s)
		}
	case ctlRequest:
		e.reply <- m.control(e.req)
	case stopTimeout:
		for _, s := range m.services {
			if len(s.procs) > 0 {
				m.log.Warn("service %s: %d process(es) did not stop in time; killing them", s.cfg.Name, len(s.procs))
				signalAll(s, syscall.SIGKILL)
			}
		}
	}
}

// stop begins a graceful stop: every daemon gets SIGTERM and the stop
// timeout to finish; what still runs then is killed.
func (m *Master) stop(why string) {
	if m.stopping {
		return
	}
	m.stopping = true
	m.log.Info("stopping (%s)", why)
	m.tell(notifyStopping)
	if m.ctl != nil {
		m.ctl.Close()
	}
	for _, s := range m.services {
		signalAll(s, syscall.SIGTERM)
	}
	m.later(m.cfg.MasterStopTimeout.D(), stopTimeout{})
}

// reload rereads the configuration and restarts what changed.
func (m *Master) reload() error {
	cfg, err := config.Load(m.cfgPath, config.Options{})
	if err != nil {
		return err
	}
	id, err := resolveIdentity(&cfg.Params)
	if err != nil {
		return err
	}
	if err := makeSpool(&cfg.Params, id); err != nil {
		return err
	}
	m.log.Info("reload -- version %s, configuration %s", version.Version, m.cfgPath)
	m.cfg, m.id = cfg, id
	m.announced = false
	m.metrics.setSpool(cfg.QueueDirectory)
	if err := m.metrics.serve(cfg.MetricsListen, cfg.MetricsAllowRemote); err != nil {
		m.log.Warn("reload: %v", err)
	}
	seen := map[string]bool{}
	for _, sc := range cfg.Services {
		if !sc.Enabled {
			continue
		}
		seen[sc.Name] = true
		s := m.services[sc.Name]
		if s == nil {
			files, err := m.bind(sc)
			if err != nil {
				m.log.Warn("reload: %v", err)
				continue
			}
			s = &service{cfg: sc, print: fingerprint(sc), files: files, procs: map[*proc]bool{}}
			m.services[sc.Name] = s
			m.log.Info("reload: service %s added", sc.Name)
			m.ensureProcs(s)
			continue
		}
		if fp := fingerprint(sc); fp == s.print {
			s.cfg = sc
			continue
		}
		var files []*os.File
		if !sameSockets(s.cfg, sc) {
			if files, err = m.bind(sc); err != nil {
				m.log.Warn("reload: service %s keeps its old settings: %v", sc.Name, err)
				continue
			}
		}
		m.log.Info("reload: service %s changed; restarting it", sc.Name)
		m.retire(s, sc, files)
	}
	for name, s := range m.services {
		if !seen[name] {
			m.log.Info("reload: service %s removed", name)
			m.retire(s, nil, nil)
		}
	}
	return nil
}

// reloadTold is reload as SIGHUP and `postern reload` ask for it, with
// systemd told: RELOADING=1 before, READY=1 once the system serves. A
// reload that changed nothing, or failed, starts no daemon, so no
// readiness report would end systemd's reloading state: then READY=1
// comes at once; otherwise announce sends it when the new daemons are
// ready.
func (m *Master) reloadTold() error {
	m.tell(notifyReloading)
	err := m.reload()
	if m.ready() {
		m.tell(notifyReady)
	}
	return err
}

// retire stops the processes of s; when they are gone, next (if any)
// takes over, with nextFiles if its sockets changed. Processes of one
// service never overlap across a reload, so there is never a second qmgr.
func (m *Master) retire(s *service, next *config.Service, nextFiles []*os.File) {
	s.retiring = true
	s.next, s.nextFiles = next, nextFiles
	signalAll(s, syscall.SIGTERM)
	if len(s.procs) == 0 {
		m.retired(s)
	}
}

// retired finishes a retirement once the old processes are gone.
func (m *Master) retired(s *service) {
	s.retiring = false
	if s.next == nil {
		closeFiles(s.files)
		delete(m.services, s.cfg.Name)
		return
	}
	if s.nextFiles != nil {
		closeFiles(s.files)
		s.files = s.nextFiles
	}
	s.cfg, s.print, s.next, s.nextFiles = s.next, fingerprint(s.next), nil, nil
	s.throttledUntil = time.Time{}
	m.ensureProcs(s)
}

// ready reports whether every service has all its processes ready.
func (m *Master) ready() bool {
	for _, s := range m.services {
		if s.retiring || len(s.procs) < s.cfg.ProcessLimit {
			return false
		}
		for p := range s.procs {
			if !p.ready {
				return false
			}
		}
	}
	return true
}

func (m *Master) procCount() int {
	n := 0
	for _, s := range m.services {
		n += len(s.procs)
	}
	return n
}

func (m *Master) sorted() []*service {
	var out []*service
	for _, s := range m.services {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].cfg.Name < out[j].cfg.Name })
	return out
}

// announce prints what listens where, for whoever started the master in
// the foreground, and logs that the system is ready.
func (m *Master) announce() {
	var b strings.Builder
	fmt.Fprintf(&b, "postern %s ready (master pid %d, configuration %s)\n", version.Version, os.Getpid(), m.cfgPath)
	for _, s := range m.sorted() {
		where := strings.Join(s.cfg.Listen, ", ")
		if s.cfg.Kind == "unix" {
			var paths []string
			for _, l := range s.cfg.Listen {
				paths = append(paths, filepath.Join(s.cfg.Params.QueueDirectory, l))
			}
			where = strings.Join(paths, ", ")
		}
		fmt.Fprintf(&b, "  %-12s %-6s %-5s %s\n", s.cfg.Name, s.cfg.Command, s.cfg.Kind, where)
	}
	if m.cfg.MaillogFile != "" && m.cfg.MaillogFile != "-" {
		fmt.Fprintf(&b, "  mail log: %s\n", m.cfg.MaillogFile)
	}
	fmt.Fprint(m.opt.Stdout, b.String())
	m.log.Info("all services ready")
	m.tell(notifyReady)
}

// tell reports a state to systemd, when it runs the master.
func (m *Master) tell(state string) {
	if err := m.notify.send(state); err != nil {
		m.log.Warn("%v", err)
	}
}

// closeAll releases sockets and files at exit.
func (m *Master) closeAll() {
	for _, s := range m.services {
		closeFiles(s.files)
		for _, l := range s.cfg.Listen {
			if s.cfg.Kind == "unix" {
				os.Remove(filepath.Join(s.cfg.Params.QueueDirectory, l))
			}
		}
	}
	if m.ctl != nil {
		m.ctl.Close()
	}
	m.metrics.close()
	os.Remove(control.Path(m.cfg.QueueDirectory))
	os.Remove(control.PIDPath(m.cfg.QueueDirectory))
}
