// A franz-go (kgo + kadm) scenario against a broker, driven by test/interop/franzgo.test.ts.
//
// Usage: franzgo <bootstrap> <topic>
// It creates the topic, produces keyed records with headers (idempotent, acks=all, zstd),
// consumes them with a group of two members until both own partitions and every record was
// read, commits, then asks kadm for the committed offsets, topics, topic configs and groups.
// It prints one JSON object on stdout; any failure exits non-zero with the reason on stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const records = 200

type member struct {
	name     string
	client   *kgo.Client
	mu       sync.Mutex
	seen     map[string]bool
	assigned map[int32]bool
}

func newMember(bootstrap, group, topic, name string) (*member, error) {
	m := &member{name: name, seen: map[string]bool{}, assigned: map[int32]bool{}}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.ClientID(name),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.Balancers(kgo.RangeBalancer()),
		kgo.SessionTimeout(6*time.Second),
		kgo.HeartbeatInterval(300*time.Millisecond),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range a[topic] {
				m.assigned[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, r map[string][]int32) {
			// Commit what was read before the partitions move, so the next owner resumes there.
			_ = cl.CommitUncommittedOffsets(ctx)
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range r[topic] {
				delete(m.assigned, p)
			}
		}),
	)
	if err != nil {
		return nil, err
	}
	m.client = cl
	return m, nil
}

// poll reads until ctx ends; the group protocol runs in the client's own goroutines.
func (m *member) poll(ctx context.Context) error {
	for ctx.Err() == nil {
		fs := m.client.PollFetches(ctx)
		if err := fs.Err0(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		m.mu.Lock()
		fs.EachRecord(func(r *kgo.Record) { m.seen[string(r.Value)] = true })
		m.mu.Unlock()
	}
	return nil
}

func (m *member) partitions() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []int32{}
	for p := range m.assigned {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func (m *member) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.seen)
}

func waitUntil(ctx context.Context, what string, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func run(bootstrap, topic string) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out := map[string]any{}

	admCl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return nil, err
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	created, err := adm.CreateTopics(ctx, 4, 1, map[string]*string{"retention.ms": kadm.StringPtr("654321")}, topic)
	if err != nil {
		return nil, fmt.Errorf("create topic: %w", err)
	}
	if err := created.Error(); err != nil {
		return nil, fmt.Errorf("create topic: %w", err)
	}

	producer, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(kgo.ZstdCompression()),
		kgo.ProducerLinger(5*time.Millisecond),
	)
	if err != nil {
		return nil, err
	}
	var rs []*kgo.Record
	for i := 0; i < records; i++ {
		rs = append(rs, &kgo.Record{
			Topic:   topic,
			Key:     []byte("key-" + strconv.Itoa(i%10)),
			Value:   []byte("value-" + strconv.Itoa(i)),
			Headers: []kgo.RecordHeader{{Key: "seq", Value: []byte(strconv.Itoa(i))}},
		})
	}
	if err := producer.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	producer.Close()
	out["produced"] = len(rs)

	group := topic + "-group"
	a, err := newMember(bootstrap, group, topic, "member-a")
	if err != nil {
		return nil, err
	}
	b, err := newMember(bootstrap, group, topic, "member-b")
	if err != nil {
		return nil, err
	}
	pollCtx, stopPolling := context.WithCancel(ctx)
	errs := make(chan error, 2)
	for _, m := range []*member{a, b} {
		go func(m *member) { errs <- m.poll(pollCtx) }(m)
	}
	split := func() bool {
		pa, pb := a.partitions(), b.partitions()
		return len(pa) > 0 && len(pb) > 0 && len(pa)+len(pb) == 4
	}
	all := func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		b.mu.Lock()
		defer b.mu.Unlock()
		n := 0
		for i := 0; i < records; i++ {
			v := "value-" + strconv.Itoa(i)
			if a.seen[v] || b.seen[v] {
				n++
			}
		}
		return n == records
	}
	if err := waitUntil(ctx, "both members to own partitions and every record to be read", func() bool { return split() && all() }); err != nil {
		stopPolling()
		return nil, err
	}
	out["split"] = [][]int32{a.partitions(), b.partitions()}
	out["readByA"], out["readByB"] = a.count(), b.count()

	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		stopPolling()
		return nil, fmt.Errorf("describe groups: %w", err)
	}
	d := described[group]
	names := []string{}
	for _, m := range d.Members {
		names = append(names, m.ClientID)
	}
	sort.Strings(names)
	out["group"] = map[string]any{"state": d.State, "protocol": d.Protocol, "members": names}

	stopPolling()
	for range 2 {
		if err := <-errs; err != nil {
			return nil, err
		}
	}
	for _, m := range []*member{a, b} {
		if err := m.client.CommitUncommittedOffsets(ctx); err != nil {
			return nil, fmt.Errorf("%s commit: %w", m.name, err)
		}
		m.client.Close()
	}

	offsets, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return nil, fmt.Errorf("fetch offsets: %w", err)
	}
	var committed int64
	offsets.Each(func(o kadm.OffsetResponse) { committed += o.At })
	out["committed"] = committed

	listed, err := adm.ListGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	_, out["groupListed"] = listed[group]

	topics, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	td, ok := topics[topic]
	out["listedPartitions"] = 0
	if ok {
		out["listedPartitions"] = len(td.Partitions)
	}
	configs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("describe configs: %w", err)
	}
	rc, err := configs.On(topic, nil)
	if err != nil {
		return nil, fmt.Errorf("describe configs: %w", err)
	}
	if rc.Err != nil {
		return nil, fmt.Errorf("describe configs: %w", rc.Err)
	}
	picked := map[string]any{}
	for _, c := range rc.Configs {
		if c.Key == "retention.ms" || c.Key == "cleanup.policy" {
			picked[c.Key] = map[string]string{"value": c.MaybeValue(), "source": c.Source.String()}
		}
	}
	out["configs"] = picked
	return out, nil
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: franzgo <bootstrap> <topic>")
		os.Exit(2)
	}
	out, err := run(os.Args[1], os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "franzgo:", err)
		os.Exit(1)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		os.Exit(1)
	}
}
