package maildir

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

var onceTime = time.Unix(1795000000, 654321000)

func deliverOnce(t *testing.T, w *Writer, root string, o Once, body string) (string, bool) {
	t.Helper()
	name, dup, err := w.DeliverOnce(context.Background(), root, o, []byte("Delivered-To: a@example.test\n"), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return name, dup
}

// A keyed delivery made twice leaves one file: the second finds the first
// in new/ without being asked to look.
func TestDeliverOnceTwice(t *testing.T) {
	root, w := newMaildir(t), newWriter(t)
	o := Once{Key: "0123456789ABCDEF-0-0", Time: onceTime}
	first, dup := deliverOnce(t, w, root, o, "Subject: x\r\n\r\nbody\r\n")
	if dup {
		t.Fatal("first delivery reported as a duplicate")
	}
	n, err := ParseName(first)
	if err != nil {
		t.Fatal(err)
	}
	if n.Key != o.Key || n.Sec != 1795000000 || n.Usec != 654321 || n.Size < 0 || n.VSize < 0 {
		t.Errorf("name %q parses as %+v", first, n)
	}
	second, dup := deliverOnce(t, w, root, o, "Subject: x\r\n\r\nbody\r\n")
	if !dup || second != first {
		t.Errorf("second delivery: %q dup=%v, want %q dup=true", second, dup, first)
	}
	if got := listDir(t, root+"/new"); len(got) != 1 {
		t.Errorf("new/ holds %v, want one file", got)
	}
	if got := listDir(t, root+"/tmp"); len(got) != 0 {
		t.Errorf("tmp/ holds %v after a duplicate", got)
	}
	// Another key is another delivery.
	if _, dup := deliverOnce(t, w, root, Once{Key: "0123456789ABCDEF-1-0", Time: onceTime}, "x\r\n"); dup {
		t.Error("another key reported as a duplicate")
	}
	if got := listDir(t, root+"/new"); len(got) != 2 {
		t.Errorf("new/ holds %v, want two files", got)
	}
}

// Once a reader has moved the message to cur/ with flags, only Recheck
// finds it.
func TestDeliverOnceRecheckCur(t *testing.T) {
	root, w := newMaildir(t), newWriter(t)
	o := Once{Key: "0123456789ABCDEF-2-0", Time: onceTime}
	first, _ := deliverOnce(t, w, root, o, "body\r\n")
	if err := os.Rename(root+"/new/"+first, root+"/cur/"+first+":2,S"); err != nil {
		t.Fatal(err)
	}
	o.Recheck = true
	name, dup := deliverOnce(t, w, root, o, "body\r\n")
	if !dup || name != first+":2,S" {
		t.Errorf("recheck: %q dup=%v, want %q dup=true", name, dup, first+":2,S")
	}
	if got := listDir(t, root+"/new"); len(got) != 0 {
		t.Errorf("new/ holds %v after a recheck found the message in cur/", got)
	}
	// Without Recheck the moved message is not looked for: the documented
	// limit, which the queue's interrupted mark exists to cover.
	o.Recheck = false
	if _, dup := deliverOnce(t, w, root, o, "body\r\n"); dup {
		t.Error("without Recheck a message in cur/ was found")
	}
}

// A prefix of another key's name is not a match.
func TestDeliverOnceRecheckExactKey(t *testing.T) {
	root, w := newMaildir(t), newWriter(t)
	deliverOnce(t, w, root, Once{Key: "0123456789ABCDEF-1-10", Time: onceTime}, "a\r\n")
	if _, dup := deliverOnce(t, w, root, Once{Key: "0123456789ABCDEF-1-1", Time: onceTime, Recheck: true}, "a\r\n"); dup {
		t.Error("key -1-1 matched the file of key -1-10")
	}
}

func TestDeliverOnceBadKey(t *testing.T) {
	root, w := newMaildir(t), newWriter(t)
	for _, key := range []string{"a.b", "a/b", "a,b", "a:b", strings.Repeat("A", 65)} {
		if _, _, err := w.DeliverOnce(context.Background(), root, Once{Key: key, Time: onceTime}, nil, strings.NewReader("x")); err == nil {
			t.Errorf("key %q accepted", key)
		}
	}
}

// A power cut can leave the earlier attempt's file in place but without
// its data: empty, or of the right size and all zeros (ext4's unwritten
// extents). That is not the message, and the delivery is made again
// under the same name.
func TestDeliverOnceReplacesBroken(t *testing.T) {
	for _, c := range []struct{ where, damage string }{{"new", "empty"}, {"new", "zeros"}, {"cur", "empty"}, {"cur", "zeros"}} {
		where := c.where
		t.Run(c.where+"/"+c.damage, func(t *testing.T) {
			root, w := newMaildir(t), newWriter(t)
			o := Once{Key: "0123456789ABCDEF-0-0", Time: onceTime, Recheck: where == "cur"}
			body := "Subject: x\r\n\r\nthe body\r\n"
			first, _ := deliverOnce(t, w, root, o, body)
			path := root + "/new/" + first
			if where == "cur" {
				path = root + "/cur/" + first + ":2,"
				if err := os.Rename(root+"/new/"+first, path); err != nil {
					t.Fatal(err)
				}
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			if c.damage == "zeros" {
				if err := os.Truncate(path, st.Size()); err != nil {
					t.Fatal(err)
				}
			}
			name, dup := deliverOnce(t, w, root, o, body)
			if dup || name != first {
				t.Fatalf("after truncation: %q dup=%v, want %q delivered again", name, dup, first)
			}
			b, err := os.ReadFile(root + "/new/" + name)
			if err != nil || !strings.HasSuffix(string(b), "the body\n") {
				t.Errorf("redelivered file: %q, %v", b, err)
			}
			if where == "cur" {
				if got := listDir(t, root+"/cur"); len(got) != 0 {
					t.Errorf("cur/ still holds the truncated file: %v", got)
				}
			}
		})
	}
}
