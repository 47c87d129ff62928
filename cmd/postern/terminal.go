package main

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// terminal is where a password is asked for without echo: standard
// input when it is a terminal. Tests stand in for it.
type terminal interface {
	IsTerminal() bool
	// ReadPassword writes prompt and reads one line without echoing it.
	ReadPassword(prompt string) ([]byte, error)
}

// stdinTerminal is the process's standard input; prompts go to the
// standard error, so that standard output stays the command's result.
type stdinTerminal struct {
	in     *os.File
	prompt io.Writer
}

func (t stdinTerminal) IsTerminal() bool { return term.IsTerminal(int(t.in.Fd())) }

func (t stdinTerminal) ReadPassword(prompt string) ([]byte, error) {
	fmt.Fprint(t.prompt, prompt)
	pw, err := term.ReadPassword(int(t.in.Fd()))
	// The newline the user typed was not echoed either.
	fmt.Fprintln(t.prompt)
	return pw, err
}
