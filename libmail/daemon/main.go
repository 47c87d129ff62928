package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/metrics"
)

// Env is everything a daemon gets from outside: its configuration, its
// logger, its sockets and its clock. Nothing else is global.
type Env struct {
	Config  *config.Config
	Service *config.Service
	// Params are the parameters as this service sees them.
	Params    *config.Params
	Log       *maillog.Logger
	Listeners []net.Listener
	Now       func() time.Time
	// Metrics are what the daemon counts for the master's /metrics.
	Metrics *metrics.Set
	// Args are the command-line arguments after the flags.
	Args []string

	ready  func()
	master *masterLink
}

// Ready tells the master (or systemd) that the daemon serves.
func (e *Env) Ready() {
	if e.ready != nil {
		e.ready()
		e.ready = nil
	}
}

// Main is the whole main function of a daemon: it parses the flags,
// loads the configuration, sets up the log and the sockets, runs run with
// a context that ends on SIGTERM, and exits. program names the daemon in
// logs; service is its row in the service table when -s does not name
// another (the master always does: a program may serve several rows, as
// smtpd serves smtp, submission and submissions).
func Main(program, service string, run func(ctx context.Context, env *Env) error) {
	fs := flag.NewFlagSet(program, flag.ExitOnError)
	cfgPath := fs.String("c", config.DefaultFile, "configuration `file`")
	svcName := fs.String("s", service, "service `name` in the configuration's service table")
	verbose := fs.Bool("v", false, "verbose logging")
	fs.Parse(os.Args[1:])

	env, cleanup, err := setup(program, *cfgPath, *svcName, *verbose)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: fatal: %v\n", program, err)
		os.Exit(1)
	}
	env.Args = fs.Args()
	defer cleanup()
	stopProfile := startProfile(program)
	defer stopProfile()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	env.master.watch(cancel, env.Metrics)

	err = run(ctx, env)
	// What this process counted is added to the master's totals before
	// it is gone.
	env.master.report(env.Metrics, true)
	if err != nil && !errors.Is(err, context.Canceled) {
		env.Log.Fatal("%v", err)
		stopProfile()
		cleanup()
		os.Exit(1)
	}
}

func setup(program, cfgPath, svcName string, verbose bool) (*Env, func(), error) {
	if os.Geteuid() == 0 {
		return nil, nil, errors.New("refusing to run as root: the master starts daemons as mail_owner")
	}
	cfg, err := config.Load(cfgPath, config.Options{})
	if err != nil {
		return nil, nil, err
	}
	svc := cfg.Service(svcName)
	if svc == nil {
		return nil, nil, fmt.Errorf("%s: no service %q", cfgPath, svcName)
	}
	p := &svc.Params
	link := linkToMaster()
	file := p.MaillogFile
	if link.underMaster() && file != "" {
		// Under the master, standard error is the log file it opened for
		// us (we may not be allowed to open it ourselves).
		file = "-"
	}
	log, err := maillog.New(maillog.Options{File: file, Name: p.SyslogName, Program: program,
		Facility: p.SyslogFacility, Hostname: p.MyHostname, Verbose: verbose})
	if err != nil {
		return nil, nil, err
	}
	if err := dropAmbientCapabilities(); err != nil {
		return nil, nil, err
	}
	if err := dropInheritableCapabilities(); err != nil {
		return nil, nil, err
	}
	ls, err := inherited()
	if err != nil {
		return nil, nil, err
	}
	if ls == nil {
		// Started by hand: bind the service's own addresses.
		files, err := Listen(svc, p.QueueDirectory, -1, -1)
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			l, err := net.FileListener(f)
			f.Close()
			if err != nil {
				return nil, nil, fmt.Errorf("listener: %w", err)
			}
			ls = append(ls, l)
		}
	}
	env := &Env{Config: cfg, Service: svc, Params: p, Log: log, Listeners: ls, Now: time.Now,
		Metrics: metrics.NewSet(p.MetricsDomainLimit), ready: link.notifier(), master: link}
	cleanup := func() {
		for _, l := range ls {
			l.Close()
		}
	}
	return env, cleanup, nil
}

// inherited returns the listeners passed as LISTEN_FDS, or nil if none.
func inherited() ([]net.Listener, error) {
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return nil, nil
	}
	if pid := os.Getenv("LISTEN_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return nil, nil
	}
	names := strings.Split(os.Getenv("LISTEN_FDNAMES"), ":")
	var ls []net.Listener
	for i := range n {
		name := fmt.Sprintf("fd%d", 3+i)
		if i < len(names) && names[i] != "" {
			name = names[i]
		}
		f := os.NewFile(uintptr(3+i), name)
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("inherited socket %s: %w", name, err)
		}
		ls = append(ls, l)
	}
	for _, v := range []string{"LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PID"} {
		os.Unsetenv(v)
	}
	return ls, nil
}
