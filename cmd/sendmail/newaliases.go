package main

import (
	"errors"
	"fmt"

	"postern.dev/postern/libmail/alias"
)

// newaliases checks the aliases files. postern reads them live, so
// there is no database to build: what is left is to say what the daemons
// will find. Problems are printed as FILE:LINE: message. A file with an
// entry in error (left out whole by local) or one that cannot be read
// exits 1, Postfix's postalias status for a failure; names defined twice
// are warnings only, as in postalias.
func (s *sendmail) newaliases() int {
	status := exOK
	for _, path := range s.params.AliasMaps {
		t, errs := alias.Load(path)
		bad := 0
		for _, err := range errs {
			if alias.IsWarning(err) {
				fmt.Fprintf(s.stderr, "newaliases: warning: %v\n", err)
				continue
			}
			bad++
			var pe *alias.ParseError
			if errors.As(err, &pe) {
				fmt.Fprintf(s.stderr, "newaliases: error: %v\n", err)
			} else {
				fmt.Fprintf(s.stderr, "newaliases: error: %s: %v\n", path, err)
			}
		}
		if bad > 0 {
			status = 1
		}
		if t == nil {
			continue
		}
		if bad > 0 {
			fmt.Fprintf(s.stdout, "%s: %d aliases, %d errors (an entry in error is left out)\n", path, t.Len(), bad)
		} else {
			fmt.Fprintf(s.stdout, "%s: %d aliases\n", path, t.Len())
		}
	}
	return status
}
