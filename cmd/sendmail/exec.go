package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
)

// exec runs postern with args, as Postfix's sendmail runs postqueue for
// -bp and -q: postern beside this program (the same installation), else
// in command_directory. The configuration file goes with it.
func (s *sendmail) exec(o *options, args ...string) int {
	prog := s.postern()
	if prog == "" {
		return s.fatal(exUnavailable, "cannot find the postern command beside %s or in command_directory %s", os.Args[0], s.params.CommandDirectory)
	}
	if o.config != "" {
		args = append([]string{"-c", o.config}, args...)
	}
	cmd := exec.Command(prog, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s.stdin, s.stdout, s.stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() > 0 {
			return ee.ExitCode()
		}
		return s.fatal(exUnavailable, "%s: %v", prog, err)
	}
	return exOK
}

// postern finds the postern command.
func (s *sendmail) postern() string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dirs = append(dirs, filepath.Dir(exe))
	}
	dirs = append(dirs, s.params.CommandDirectory)
	for _, d := range dirs {
		p := filepath.Join(d, "postern")
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
