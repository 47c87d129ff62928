package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/testkit"
)

// queueEnv is a test environment with a spool holding a deferred entry
// with two recipients (one deferred, one delivered), a held one and an
// active bounce, and no showq: the command reads the spool itself.
type queueEnv struct {
	*testEnv
	spool                  *queue.Spool
	deferred, held, active queue.ID
	arrival                time.Time
}

func newQueueEnv(t *testing.T) *queueEnv {
	t.Helper()
	e := &queueEnv{testEnv: newTestEnv(t, "maillog_file = \"-\"\n")}
	testkit.MakeSpool(t, e.testEnv.spool)
	e.spool = queue.Open(e.testEnv.spool, time.Now)
	e.arrival = time.Unix(1796621518, 0)
	env := queue.Envelope{Arrival: e.arrival, Sender: "alice@example.org", Recipients: testkit.Recipients("bob@remote.test", "carol@other.test", "dave@remote.test")}
	e.deferred = testkit.Enqueue(t, e.spool, queue.DeferredQueue, env, strings.Repeat("x", 2000)+"\r\n")
	f, err := e.spool.OpenEntry(queue.DeferredQueue, e.deferred, true)
	if err != nil {
		t.Fatal(err)
	}
	queue.Append(f, queue.ResultRecord{Result: queue.Result{Rcpt: 0, Status: queue.Deferred, DSN: "4.4.1", Relay: "none", Reply: "connect to mx.remote.test: Connection refused"}},
		queue.ResultRecord{Result: queue.Result{Rcpt: 1, Status: queue.Sent, DSN: "2.0.0", Relay: "mx.other.test", Reply: "250 ok"}})
	f.Close()
	e.held = testkit.Enqueue(t, e.spool, queue.Hold, queue.Envelope{Arrival: e.arrival, Sender: "odd one@example.org", Recipients: testkit.Recipients("eve@remote.test")}, "Subject: held\r\n\r\nbody\r\n")
	e.active = testkit.Enqueue(t, e.spool, queue.Active, queue.Envelope{Arrival: e.arrival, Sender: "", Recipients: testkit.Recipients("alice@example.org")}, "Subject: bounce\r\n\r\n")
	return e
}

func (e *queueEnv) run(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, now: func() time.Time { return e.arrival.Add(7 * time.Minute) }}
	code := runWith(a, append([]string{"-c", e.cfg}, args...))
	return out.String(), errb.String(), code
}

func TestQueueListMailq(t *testing.T) {
	e := newQueueEnv(t)
	out, errs, code := e.run(t, "", "queue", "list")
	if code != 0 || !strings.Contains(errs, "Mail system is down -- accessing queue directly") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	at := e.arrival.Local().Format("Mon Jan _2 15:04:05")
	pad := strings.Repeat(" ", 47)
	reason := "connect to mx.remote.test: Connection refused"
	want := "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n" +
		fmt.Sprintf("%-17s %8d %s %s\n", e.active+"*", 19, at, "MAILER-DAEMON") +
		pad + "alice@example.org\n\n" +
		fmt.Sprintf("%-17s %8d %s %s\n", e.deferred, 2002, at, "alice@example.org") +
		strings.Repeat(" ", 76-len(reason)) + "(" + reason + ")\n" +
		pad + "bob@remote.test\n" +
		strings.Repeat(" ", 76-len("reason unavailable")) + "(reason unavailable)\n" +
		pad + "dave@remote.test\n\n" +
		fmt.Sprintf("%-17s %8d %s %s\n", e.held+"!", 23, at, "\"odd one\"@example.org") +
		pad + "eve@remote.test\n\n" +
		"-- 1 Kbytes in 3 Requests.\n"
	if out != want {
		t.Errorf("mailq output:\n%s\nwant:\n%s", out, want)
	}
	out, _, _ = e.run(t, "", "queue", "list", "-q", "incoming")
	if out != "Mail queue is empty\n" {
		t.Errorf("empty queue: %q", out)
	}
	out, _, _ = e.run(t, "", "queue", "list", "-d", "OTHER.test")
	if !strings.Contains(out, string(e.deferred)) || strings.Contains(out, string(e.held)) || !strings.Contains(out, "in 1 Request.") {
		t.Errorf("list -d other.test:\n%s", out)
	}
}

func TestQueueListJSON(t *testing.T) {
	e := newQueueEnv(t)
	out, _, code := e.run(t, "", "queue", "list", "-j", "-s", "alice@example.org", "-s", "<>")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	var got []queue.Summary
	for _, l := range lines {
		var s queue.Summary
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, s)
	}
	if got[0].ID != e.active || got[0].Queue != "active" || got[0].Sender != "" {
		t.Errorf("first %+v", got[0])
	}
	d := got[1]
	if d.ID != e.deferred || d.Queue != "deferred" || d.Size != 2002 || d.Arrival != e.arrival.Unix() || len(d.Recipients) != 3 ||
		d.Recipients[0].Status != "deferred" || d.Recipients[0].DelayReason == "" || d.Recipients[1].Status != "sent" || !d.Recipients[1].Done ||
		d.Recipients[2].Status != "pending" {
		t.Errorf("deferred %+v", d)
	}
	// Postfix's postqueue -j field names, for the scripts written for it.
	for _, k := range []string{`"queue_name":`, `"queue_id":`, `"arrival_time":`, `"message_size":`, `"forced_expire":`, `"sender":`, `"recipients":`, `"address":`, `"delay_reason":`} {
		if !strings.Contains(out, k) {
			t.Errorf("JSON lacks %s", k)
		}
	}
}

func TestQueueChanges(t *testing.T) {
	e := newQueueEnv(t)
	_, errs, code := e.run(t, "", "queue", "hold", "-d", "remote.test")
	if code != 0 || errs != "postern: Placed on hold: 1 message\n" {
		t.Errorf("hold: exit %d, %q", code, errs)
	}
	if q, _ := e.spool.Find(e.deferred, queue.AdminQueues); q != queue.Hold {
		t.Errorf("held entry in %s", q)
	}
	out, errs, code := e.run(t, string(e.deferred)+"\n"+string(e.held)+"\n", "queue", "release", "-j", "-")
	var rep changeReport
	if code != 0 || errs != "postern: Released from hold: 2 messages\n" || json.Unmarshal([]byte(out), &rep) != nil || rep.Count != 2 || rep.Action != "release" {
		t.Errorf("release: exit %d, %q, %q", code, out, errs)
	}
	if n, _ := e.spool.List(queue.DeferredQueue); len(n) != 2 {
		t.Errorf("deferred holds %v", n)
	}
	_, errs, code = e.run(t, "", "queue", "expire", string(e.held))
	if code != 0 || errs != "postern: Expired: 1 message\n" {
		t.Errorf("expire: exit %d, %q", code, errs)
	}
	out, _, _ = e.run(t, "", "queue", "list")
	if !strings.Contains(out, string(e.held)+"#") {
		t.Errorf("expired entry not marked:\n%s", out)
	}
	_, errs, code = e.run(t, "", "queue", "requeue", "ALL")
	if code != 0 || errs != "postern: Requeued: 3 messages\n" {
		t.Errorf("requeue: exit %d, %q", code, errs)
	}
	// Nothing selected: nothing said, as postsuper.
	_, errs, code = e.run(t, "", "queue", "delete", "-s", "nobody@example.org")
	if code != 0 || errs != "" {
		t.Errorf("delete of nothing: exit %d, %q", code, errs)
	}
	_, errs, code = e.run(t, "", "queue", "delete", "ALL")
	if code != 0 || errs != "postern: Deleted: 3 messages\n" {
		t.Errorf("delete: exit %d, %q", code, errs)
	}
	out, _, _ = e.run(t, "", "queue", "list")
	if !strings.HasSuffix(out, "Mail queue is empty\n") {
		t.Errorf("after delete ALL:\n%s", out)
	}
}

func TestQueueShow(t *testing.T) {
	e := newQueueEnv(t)
	out, _, code := e.run(t, "", "queue", "show", string(e.held))
	name := "hold/" + string(e.held)
	for _, want := range []string{"*** ENVELOPE RECORDS " + name + " ***\n", "sender: odd one@example.org\n", "recipient: eve@remote.test\n  status: pending\n",
		"*** MESSAGE CONTENTS " + name + " ***\nSubject: held\n\nbody\n*** MESSAGE FILE END " + name + " ***\n"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	out, _, code = e.run(t, "", "queue", "show", "-j", string(e.deferred))
	var s struct {
		queue.Summary
		Message string `json:"message"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil || s.ID != e.deferred || !strings.HasPrefix(s.Message, "xxx") {
		t.Errorf("show -j: %d %s", code, out)
	}
	_, errs, code := e.run(t, "", "queue", "show", "0000000000000000")
	if code != 1 || !strings.Contains(errs, "no such queue entry") {
		t.Errorf("show of nothing: %d %q", code, errs)
	}
}

func TestQueueShape(t *testing.T) {
	e := newQueueEnv(t)
	out, _, code := e.run(t, "", "queue", "shape", "-q", "deferred", "-q", "hold", "-q", "active")
	want := "            T 5 10 20 40 80 160 320 640 1280 1280+\n" +
		"      TOTAL 3 0  3  0  0  0   0   0   0    0     0\n" +
		"remote.test 2 0  2  0  0  0   0   0   0    0     0\n" +
		"example.org 1 0  1  0  0  0   0   0   0    0     0\n"
	if code != 0 || out != want {
		t.Errorf("shape:\n%s\nwant:\n%s", out, want)
	}
	out, _, _ = e.run(t, "", "queue", "shape", "-j", "-t", "1", "-b", "3")
	var s struct {
		Queues []string `json:"queues"`
		queue.Shape
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil || len(s.Buckets) != 2 || s.Buckets[1] != 2 || s.Total.Total != 2 || s.Total.Counts[2] != 2 {
		t.Errorf("shape -j: %v %s", err, out)
	}
}

func TestQueueUsage(t *testing.T) {
	e := newQueueEnv(t)
	for _, args := range [][]string{
		{"queue"}, {"queue", "bogus"}, {"queue", "delete"}, {"queue", "hold", "../x"}, {"queue", "list", "-q", "tmp"},
		{"queue", "show"}, {"queue", "shape", "-b", "1"}, {"queue", "release", "-x"},
	} {
		if _, errs, code := e.run(t, "", args...); code != 2 || !strings.Contains(errs, "usage:") {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
	for _, sub := range []string{"list", "show", "hold", "release", "delete", "requeue", "expire", "shape"} {
		out, _, code := e.run(t, "", "queue", sub, "-h")
		if code != 0 || !strings.HasPrefix(out, "usage: postern queue "+sub) {
			t.Errorf("queue %s -h: exit %d, %q", sub, code, out)
		}
	}
	// Nothing changed by any of that.
	if ids, _ := e.spool.List(queue.Hold); len(ids) != 1 {
		t.Errorf("hold/ holds %v", ids)
	}
}
