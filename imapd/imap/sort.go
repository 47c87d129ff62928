package imap

import (
	"net/mail"
	"sort"
	"strings"
	"time"
)

// SortItem is what SORT and THREAD look at in one message.
type SortItem struct {
	SeqNum, UID  uint32
	InternalDate time.Time
	Size         int64
	Header       *Header // the top-level header (Message.Header)
}

// sentDate is RFC 5256's sent date: the Date field in UTC, or the
// internal date when it is missing or cannot be parsed.
func (it *SortItem) sentDate() time.Time {
	if it.Header != nil {
		if t, err := mail.ParseDate(it.Header.Get("Date")); err == nil {
			return t.UTC()
		}
	}
	return it.InternalDate.UTC()
}

// SortMessages orders items by the criteria (RFC 5256 §3, RFC 5957
// DISPLAYFROM/DISPLAYTO); messages equal on all criteria keep
// sequence-number order.
func SortMessages(items []SortItem, criteria []SortCriterion) {
	type keyed struct {
		it   *SortItem
		strs []string
		nums []int64
	}
	ks := make([]keyed, len(items))
	for i := range items {
		it := &items[i]
		k := keyed{it: it, strs: make([]string, len(criteria)), nums: make([]int64, len(criteria))}
		for j, c := range criteria {
			switch c.Key {
			case "ARRIVAL":
				k.nums[j] = it.InternalDate.UnixNano()
			case "DATE":
				k.nums[j] = it.sentDate().UnixNano()
			case "SIZE":
				k.nums[j] = it.Size
			case "SUBJECT":
				if it.Header != nil {
					k.strs[j], _ = BaseSubject(it.Header.Get("Subject"))
					k.strs[j] = fold(k.strs[j])
				}
			case "FROM", "TO", "CC":
				k.strs[j] = strings.ToUpper(firstMailbox(it.Header, c.Key, false))
			case "DISPLAYFROM", "DISPLAYTO":
				k.strs[j] = fold(firstMailbox(it.Header, strings.TrimPrefix(c.Key, "DISPLAY"), true))
			}
		}
		ks[i] = k
	}
	sort.SliceStable(ks, func(a, b int) bool {
		for j, c := range criteria {
			cmp := 0
			switch {
			case ks[a].strs[j] < ks[b].strs[j] || ks[a].nums[j] < ks[b].nums[j]:
				cmp = -1
			case ks[a].strs[j] > ks[b].strs[j] || ks[a].nums[j] > ks[b].nums[j]:
				cmp = 1
			}
			if c.Reverse {
				cmp = -cmp
			}
			if cmp != 0 {
				return cmp < 0
			}
		}
		return ks[a].it.SeqNum < ks[b].it.SeqNum
	})
	out := make([]SortItem, len(ks))
	for i, k := range ks {
		out[i] = *k.it
	}
	copy(items, out)
}

// firstMailbox is the sort key of an address field: the local part of
// its first address (RFC 5256), or for display its decoded name, else
// the address (RFC 5957 §3.1).
func firstMailbox(h *Header, field string, display bool) string {
	if h == nil {
		return ""
	}
	for _, a := range ParseAddressList(h.Get(field)) {
		if a.Mailbox == nil || a.Host == nil {
			continue // group markers
		}
		if !display {
			return *a.Mailbox
		}
		if a.Name != nil && *a.Name != "" {
			return decodeWords(*a.Name)
		}
		return *a.Mailbox + "@" + *a.Host
	}
	return ""
}
