package imap

import (
	"sort"
	"strings"
	"time"
)

// ThreadNode is one message in a thread tree; ID 0 is a dummy, a
// message referred to but not in the set (RFC 5256 §3).
type ThreadNode struct {
	ID       uint32 // the sequence number or UID the session put in SortItem
	Children []*ThreadNode
	date     time.Time
	seq      uint32
	subject  string
	reply    bool
}

// newNode is an item's node, known by its UID for UID THREAD and by
// its sequence number otherwise.
func newNode(it *SortItem, uid bool) *ThreadNode {
	id := it.SeqNum
	if uid {
		id = it.UID
	}
	n := &ThreadNode{ID: id, date: it.sentDate(), seq: it.SeqNum}
	if it.Header != nil {
		n.subject, n.reply = BaseSubject(it.Header.Get("Subject"))
	}
	return n
}

// ThreadOrderedSubject groups by base subject, each group under its
// first message by sent date, the groups in order of that date (RFC 5256
// §3, ORDEREDSUBJECT). uid: UID THREAD.
func ThreadOrderedSubject(items []SortItem, uid bool) []*ThreadNode {
	nodes := make([]*ThreadNode, len(items))
	for i := range items {
		nodes[i] = newNode(&items[i], uid)
	}
	sortNodes(nodes)
	var roots []*ThreadNode
	bySubject := map[string]*ThreadNode{}
	for _, n := range nodes {
		key := fold(n.subject)
		if first, ok := bySubject[key]; ok {
			first.Children = append(first.Children, n)
			continue
		}
		bySubject[key] = n
		roots = append(roots, n)
	}
	return roots
}

func sortNodes(ns []*ThreadNode) {
	sort.SliceStable(ns, func(i, j int) bool {
		if !ns[i].date.Equal(ns[j].date) {
			return ns[i].date.Before(ns[j].date)
		}
		return ns[i].seq < ns[j].seq
	})
}

// container is a node of the REFERENCES algorithm, by Message-ID.
type container struct {
	node     *ThreadNode // nil for a dummy
	parent   *container
	children []*container
}

func (c *container) isAncestorOf(d *container) bool {
	for p := d; p != nil; p = p.parent {
		if p == c {
			return true
		}
	}
	return false
}

func (c *container) unlink() {
	if p := c.parent; p != nil {
		for i, s := range p.children {
			if s == c {
				p.children = append(p.children[:i], p.children[i+1:]...)
				break
			}
		}
		c.parent = nil
	}
}

func (c *container) link(child *container) {
	child.unlink()
	child.parent = c
	c.children = append(c.children, child)
}

// msgIDs extracts the "<...>" message IDs of a References or
// In-Reply-To field, in order.
func msgIDs(s string) []string {
	var ids []string
	for {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			return ids
		}
		gt := strings.IndexByte(s[lt:], '>')
		if gt < 0 {
			return ids
		}
		if id := s[lt : lt+gt+1]; len(id) > 2 && !strings.ContainsAny(id, " \t") {
			ids = append(ids, id)
		}
		s = s[lt+gt+1:]
	}
}

// ThreadReferences threads by References and In-Reply-To (RFC 5256 §3,
// REFERENCES), then merges threads with the same base subject.
func ThreadReferences(items []SortItem, uid bool) []*ThreadNode {
	byID := map[string]*container{}
	get := func(id string) *container {
		c := byID[id]
		if c == nil {
			c = &container{}
			byID[id] = c
		}
		return c
	}
	var all []*container
	for i := range items {
		it := &items[i]
		n := newNode(it, uid)
		var id string
		var refs []string
		if it.Header != nil {
			if ids := msgIDs(it.Header.Get("Message-Id")); len(ids) > 0 {
				id = ids[0]
			}
			refs = msgIDs(it.Header.Get("References"))
			if len(refs) == 0 {
				if irt := msgIDs(it.Header.Get("In-Reply-To")); len(irt) > 0 {
					refs = irt[:1]
				}
			}
		}
		// (1) A missing or duplicate Message-ID gets a unique one.
		c := byID[id]
		if id == "" || (c != nil && c.node != nil) {
			c = &container{}
		} else {
			c = get(id)
		}
		c.node = n
		all = append(all, c)
		// (1A) Link the references in order where nothing else did.
		var prev *container
		for _, r := range refs {
			if r == id {
				continue // a message does not refer to itself
			}
			rc := get(r)
			if prev != nil && rc.parent == nil && !rc.isAncestorOf(prev) && rc != prev {
				prev.link(rc)
			}
			prev = rc
		}
		// (1B) The last reference is the message's parent, replacing a
		// parent that a truncated References elsewhere gave it.
		if prev != nil && !c.isAncestorOf(prev) {
			prev.link(c)
		}
	}
	// (2) The root set.
	seen := map[*container]bool{}
	var roots []*container
	addRoot := func(c *container) {
		for c.parent != nil {
			c = c.parent
		}
		if !seen[c] {
			seen[c] = true
			roots = append(roots, c)
		}
	}
	for _, c := range all {
		addRoot(c)
	}
	// (3) Prune dummies; (4) sort.
	var nodes []*ThreadNode
	for _, r := range roots {
		nodes = append(nodes, prune(r, true)...)
	}
	for _, n := range nodes {
		sortTree(n)
	}
	// (5) Merge threads by base subject.
	nodes = mergeSubjects(nodes)
	// (6) Sort again: merging changed the sibling sets.
	for _, n := range nodes {
		sortTree(n)
	}
	sortNodes(nodes)
	return nodes
}

// prune turns a container tree into ThreadNodes without dummies that have
// no children, promoting a dummy's children unless it is a root with
// more than one (RFC 5256 §3 step 3).
func prune(c *container, root bool) []*ThreadNode {
	var kids []*ThreadNode
	for _, ch := range c.children {
		kids = append(kids, prune(ch, false)...)
	}
	if c.node != nil {
		c.node.Children = kids
		return []*ThreadNode{c.node}
	}
	if len(kids) == 0 {
		return nil
	}
	if !root || len(kids) == 1 {
		return kids
	}
	return []*ThreadNode{{Children: kids}}
}

// sortTree sorts siblings by sent date; a dummy takes its first child's
// date (RFC 5256 §3 step 4).
func sortTree(n *ThreadNode) {
	for _, c := range n.Children {
		sortTree(c)
	}
	sortNodes(n.Children)
	if n.ID == 0 && len(n.Children) > 0 {
		n.date, n.seq = n.Children[0].date, n.Children[0].seq
		n.subject, n.reply = n.Children[0].subject, n.Children[0].reply
	}
}

// mergeSubjects is RFC 5256 §3 step 5: root threads with the same base
// subject are joined.
func mergeSubjects(roots []*ThreadNode) []*ThreadNode {
	table := map[string]*ThreadNode{}
	for _, r := range roots {
		key := fold(r.subject)
		if key == "" {
			continue
		}
		old, ok := table[key]
		if !ok || (old.ID != 0 && r.ID == 0) || (old.reply && !r.reply && r.ID != 0 && old.ID != 0) {
			table[key] = r
		}
	}
	var out []*ThreadNode
	for _, r := range roots {
		key := fold(r.subject)
		t := table[key]
		if key == "" || t == r {
			out = append(out, r)
			continue
		}
		switch {
		case t.ID == 0 && r.ID == 0:
			t.Children = append(t.Children, r.Children...)
		case t.ID == 0:
			t.Children = append(t.Children, r)
		case r.reply && !t.reply:
			t.Children = append(t.Children, r)
		default:
			// Neither is the other's reply: both go under a new dummy,
			// which takes the table entry's place among the roots.
			// t becomes that dummy in place, its message moving to d.
			d := &ThreadNode{}
			*d = *t
			*t = ThreadNode{Children: []*ThreadNode{d, r}, subject: d.subject, date: d.date, seq: d.seq}
		}
	}
	return out
}

// Thread writes a THREAD response's thread lists (RFC 5256 §4).
func (w *Writer) Thread(roots []*ThreadNode) *Writer {
	for _, r := range roots {
		w.Open().threadMembers(r).Close()
	}
	return w
}

func (w *Writer) threadMembers(n *ThreadNode) *Writer {
	if n.ID != 0 {
		w.Number(uint64(n.ID))
	}
	switch len(n.Children) {
	case 0:
	case 1:
		if n.ID != 0 {
			w.SP()
		}
		w.threadMembers(n.Children[0])
	default:
		if n.ID != 0 {
			w.SP()
		}
		for _, c := range n.Children {
			w.Open().threadMembers(c).Close()
		}
	}
	return w
}
