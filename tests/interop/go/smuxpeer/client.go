// The client: one scenario per run against a server that speaks the command protocol (the
// C++ server of the interop tests, or `smuxpeer server`). It prints one JSON line and exits
// 0 when the scenario passed, 1 when it failed.

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xtaci/smux"
)

type clientOptions struct {
	scenario   string
	seed       uint64
	bytes      int64 // payload of the scenario (bulk size, request size, ...)
	replyBytes int64 // self-fin-first: reply the server writes after our FIN
	streams    int   // concurrent: streams at once; churn: streams in all
	workers    int   // churn: streams open at once
	payloadMax int   // concurrent: payload sizes are 1..payloadMax
	otherBytes int   // slow: echo payload of each other stream
	sizes      []int // frames: one write per size
	idle       time.Duration
	active     time.Duration
	silence    time.Duration
	opTimeout  time.Duration
}

type client struct {
	opts   clientOptions
	cfg    *smux.Config
	conn   *freezeConn
	sess   *smux.Session
	mu     sync.Mutex
	result map[string]interface{}
}

func (c *client) set(key string, v interface{}) {
	c.mu.Lock()
	c.result[key] = v
	c.mu.Unlock()
}

var scenarios = map[string]func(*client) error{
	"roundtrip":           (*client).roundTrip,
	"concurrent":          (*client).concurrent,
	"bulk-upload":         (*client).bulkUpload,
	"bulk-download":       (*client).bulkDownload,
	"frames":              (*client).frames,
	"peer-fin-first":      (*client).peerFinFirst,
	"self-fin-first":      (*client).selfFinFirst,
	"slow":                (*client).slow,
	"churn":               (*client).churn,
	"idle":                (*client).idle,
	"silent":              (*client).silent,
	"peer-closes-session": (*client).peerClosesSession,
	"mismatch":            (*client).mismatch,
}

func runClient(argv []string) int {
	log.SetPrefix("smuxpeer client: ")
	log.SetFlags(log.Lmicroseconds)
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	connect := fs.String("connect", "", "HOST:PORT of the server")
	var o clientOptions
	fs.StringVar(&o.scenario, "scenario", "", "scenario to run (see README.md)")
	deadline := fs.Int("deadline", 120000, "the scenario fails after this many ms")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated payloads")
	fs.Int64Var(&o.bytes, "bytes", 64<<10, "payload size of the scenario")
	fs.Int64Var(&o.replyBytes, "reply-bytes", 64<<10, "self-fin-first: bytes the server replies")
	fs.IntVar(&o.streams, "streams", 1000, "concurrent/churn: number of streams")
	fs.IntVar(&o.workers, "workers", 16, "churn: streams open at once")
	fs.IntVar(&o.payloadMax, "payload-max", 16384, "concurrent: largest payload")
	fs.IntVar(&o.otherBytes, "other-bytes", 256<<10, "slow: echo payload of the other streams")
	sizes := fs.String("sizes", "1,32767,32768,32769,65535,65536,1048576", "frames: write sizes")
	idle := fs.Int("idle", 1500, "idle: ms without traffic")
	active := fs.Int("active", 1000, "silent: ms of traffic before going silent")
	silence := fs.Int("silence", 2000, "silent: ms without reading or writing")
	opTimeout := fs.Int("op-timeout", 30000, "deadline of single stream operations, ms")
	if err := fs.Parse(argv); err != nil {
		return 2
	}
	run, ok := scenarios[o.scenario]
	if !ok {
		log.Printf("unknown scenario %q", o.scenario)
		return 2
	}
	var err error
	if o.sizes, err = parseSizes(*sizes); err != nil {
		log.Print(err)
		return 2
	}
	o.idle = time.Duration(*idle) * time.Millisecond
	o.active = time.Duration(*active) * time.Millisecond
	o.silence = time.Duration(*silence) * time.Millisecond
	o.opTimeout = time.Duration(*opTimeout) * time.Millisecond
	cfg, err := cf.build()
	if err != nil {
		log.Printf("invalid config: %v", err)
		return 2
	}

	c := &client{opts: o, cfg: cfg, result: map[string]interface{}{"scenario": o.scenario}}
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		conn, err := net.DialTimeout("tcp", *connect, 10*time.Second)
		if err != nil {
			done <- err
			return
		}
		c.conn = newFreezeConn(conn)
		c.mu.Lock()
		c.sess, err = smux.Client(c.conn, cfg)
		c.mu.Unlock()
		if err != nil {
			done <- err
			return
		}
		done <- run(c)
	}()
	select {
	case err = <-done:
	case <-time.After(time.Duration(*deadline) * time.Millisecond):
		err = fmt.Errorf("deadline of %d ms exceeded", *deadline)
	}
	c.mu.Lock()
	c.result["ok"] = err == nil
	if err != nil {
		c.result["error"] = err.Error()
	}
	c.result["duration_ms"] = time.Since(start).Milliseconds()
	line, _ := json.Marshal(c.result)
	sess := c.sess
	c.mu.Unlock()
	fmt.Println(string(line))
	if sess != nil {
		sess.Close()
	}
	if err != nil {
		log.Printf("scenario %s FAILED: %v", o.scenario, err)
		return 1
	}
	return 0
}

// open opens a stream and sends its command line.
func (c *client) open(command string) (*smux.Stream, error) {
	st, err := c.sess.OpenStream()
	if err != nil {
		return nil, fmt.Errorf("open for %q: %v", command, err)
	}
	st.SetDeadline(time.Now().Add(c.opts.opTimeout))
	if _, err := io.WriteString(st, command+"\n"); err != nil {
		st.Close()
		return nil, fmt.Errorf("command %q: %v", command, err)
	}
	return st, nil
}

// echo sends payload on an echo stream while reading it back, and compares.
func (c *client) echo(payload []byte) error {
	st, err := c.open("echo")
	if err != nil {
		return err
	}
	defer st.Close()
	werr := make(chan error, 1)
	go func() {
		_, err := st.Write(payload)
		werr <- err
	}()
	got := make([]byte, len(payload))
	if n, err := io.ReadFull(st, got); err != nil {
		return fmt.Errorf("echo stream %d: read %d of %d bytes: %v", st.ID(), n, len(payload), err)
	}
	if err := <-werr; err != nil {
		return fmt.Errorf("echo stream %d: write: %v", st.ID(), err)
	}
	if i := firstDifference(got, payload); i >= 0 {
		return fmt.Errorf("echo stream %d: byte %d of %d differs", st.ID(), i, len(payload))
	}
	return nil
}

func firstDifference(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// readDigestLine reads the "LEN SHA" reply of sink/slow and compares it with want.
func readDigestLine(st *smux.Stream, br *bufio.Reader, want *digest) error {
	line, err := readLine(br)
	if err != nil {
		return fmt.Errorf("stream %d: reading the digest line: %v (got %q)", st.ID(), err, line)
	}
	n, sum, err := parseDigestLine(line)
	if err != nil {
		return err
	}
	if n != want.n || sum != want.hex() {
		return fmt.Errorf("stream %d: server received %d bytes with SHA-256 %s, sent %d bytes with %s",
			st.ID(), n, sum, want.n, want.hex())
	}
	return nil
}

// readCompare reads to EOF and compares with the first n bytes of the sequence of seed.
func readCompare(st *smux.Stream, r io.Reader, n int64, seed uint64) error {
	g := newGenerator(seed)
	buf := make([]byte, 64<<10)
	want := make([]byte, 64<<10)
	var got int64
	for {
		k, err := r.Read(buf)
		if k > 0 {
			if got+int64(k) > n {
				return fmt.Errorf("stream %d: more than the %d bytes expected", st.ID(), n)
			}
			g.Read(want[:k])
			if i := firstDifference(buf[:k], want[:k]); i >= 0 {
				return fmt.Errorf("stream %d: byte %d differs", st.ID(), got+int64(i))
			}
			got += int64(k)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("stream %d: after %d of %d bytes: %v", st.ID(), got, n, err)
		}
	}
	if got != n {
		return fmt.Errorf("stream %d: EOF after %d of %d bytes", st.ID(), got, n)
	}
	return nil
}

func (c *client) roundTrip() error {
	return c.echo(newGenerator(c.opts.seed).bytes(int(c.opts.bytes)))
}

func (c *client) concurrent() error {
	var wg sync.WaitGroup
	var failed int64
	var first atomic.Value
	sizes := newGenerator(c.opts.seed ^ 0x5A5A)
	for i := 0; i < c.opts.streams; i++ {
		size := 1 + int(sizes.next()%uint64(c.opts.payloadMax))
		payload := newGenerator(c.opts.seed*1000003 + uint64(i)).bytes(size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.echo(payload); err != nil {
				atomic.AddInt64(&failed, 1)
				first.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	c.set("streams", c.opts.streams)
	c.set("failed", failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d streams failed, first: %v", failed, c.opts.streams, first.Load())
	}
	return nil
}

func (c *client) bulkUpload() error {
	n := c.opts.bytes
	st, err := c.open(fmt.Sprintf("sink %d", n))
	if err != nil {
		return err
	}
	defer st.Close()
	st.SetDeadline(time.Time{}) // bounded by --deadline
	start := time.Now()
	g := newGenerator(c.opts.seed)
	d := newDigest()
	buf := make([]byte, 64<<10)
	for d.n < n {
		k := int64(len(buf))
		if n-d.n < k {
			k = n - d.n
		}
		g.Read(buf[:k])
		d.Write(buf[:k])
		if _, err := st.Write(buf[:k]); err != nil {
			return fmt.Errorf("upload: write at %d of %d: %v", d.n-k, n, err)
		}
	}
	if err := readDigestLine(st, bufio.NewReader(st), d); err != nil {
		return err
	}
	c.set("bytes", n)
	c.set("sha", d.hex())
	c.set("mib_per_s", float64(n)/(1<<20)/time.Since(start).Seconds())
	return nil
}

func (c *client) bulkDownload() error {
	n := c.opts.bytes
	st, err := c.open(fmt.Sprintf("gen %d %d", n, c.opts.seed))
	if err != nil {
		return err
	}
	defer st.Close()
	st.SetDeadline(time.Time{}) // bounded by --deadline
	start := time.Now()
	if err := readCompare(st, st, n, c.opts.seed); err != nil {
		return err
	}
	c.set("bytes", n)
	c.set("mib_per_s", float64(n)/(1<<20)/time.Since(start).Seconds())
	return nil
}

func (c *client) frames() error {
	var total int64
	for _, n := range c.opts.sizes {
		total += int64(n)
	}
	// client -> server: one Write call per size
	st, err := c.open(fmt.Sprintf("sink %d", total))
	if err != nil {
		return err
	}
	g := newGenerator(c.opts.seed)
	d := newDigest()
	for _, n := range c.opts.sizes {
		b := g.bytes(n)
		d.Write(b)
		if k, err := st.Write(b); err != nil || k != n {
			st.Close()
			return fmt.Errorf("write of %d bytes: wrote %d: %v", n, k, err)
		}
	}
	err = readDigestLine(st, bufio.NewReader(st), d)
	st.Close()
	if err != nil {
		return fmt.Errorf("upload: %v", err)
	}
	// server -> client: one Write call per size on the server
	seed := c.opts.seed + 1
	st, err = c.open(fmt.Sprintf("sizes %d %s", seed, joinSizes(c.opts.sizes)))
	if err != nil {
		return err
	}
	defer st.Close()
	if err := readCompare(st, st, total, seed); err != nil {
		return fmt.Errorf("download: %v", err)
	}
	c.set("bytes", total)
	return nil
}

// peerFinFirst: the server sends FIN first ("ok\n" then FIN); this side reads to EOF, then
// keeps writing on the stream, and only then closes. The server checks what it received
// after its FIN and records it.
func (c *client) peerFinFirst() error {
	n := c.opts.bytes
	st, err := c.open(fmt.Sprintf("finfirst %d %d", n, c.opts.seed))
	if err != nil {
		return err
	}
	got, err := io.ReadAll(st)
	if err != nil || string(got) != "ok\n" {
		st.Close()
		return fmt.Errorf("stream %d: expected \"ok\\n\" then the server's FIN, got %q, %v",
			st.ID(), got, err)
	}
	payload := newGenerator(c.opts.seed).bytes(int(n))
	// One Write that (in v2) fits the window the server advertised, so it never waits for
	// an update: smux v1.5.16 fails a wait after the peer's FIN with EOF.
	if k, err := st.Write(payload); err != nil || k != len(payload) {
		st.Close()
		return fmt.Errorf("stream %d: write after the server's FIN: %d of %d bytes: %v",
			st.ID(), k, len(payload), err)
	}
	st.Close()
	d := newDigest()
	d.Write(payload)
	c.set("sent_len", d.n)
	c.set("sent_sha", d.hex())
	// the session goes on
	return c.echo(newGenerator(c.opts.seed + 7).bytes(4096))
}

// selfFinFirst: the closest this smux version gets to "Go sends FIN first": Close() sends
// FIN and drops the stream, so the server's reply after that FIN is discarded by the Go
// session. The server records what it received and whether its reply write succeeded; here
// the session must stay usable.
func (c *client) selfFinFirst() error {
	st, err := c.open(fmt.Sprintf("halfclose %d %d", c.opts.replyBytes, c.opts.seed+1))
	if err != nil {
		return err
	}
	payload := newGenerator(c.opts.seed).bytes(int(c.opts.bytes))
	if _, err := st.Write(payload); err != nil {
		st.Close()
		return fmt.Errorf("stream %d: request: %v", st.ID(), err)
	}
	if err := st.Close(); err != nil {
		return fmt.Errorf("stream %d: close: %v", st.ID(), err)
	}
	d := newDigest()
	d.Write(payload)
	c.set("sent_len", d.n)
	c.set("sent_sha", d.hex())
	for i := 0; i < 3; i++ { // the reply to the dropped stream arrives meanwhile
		time.Sleep(100 * time.Millisecond)
		if err := c.echo(newGenerator(c.opts.seed + 7 + uint64(i)).bytes(4096)); err != nil {
			return fmt.Errorf("session after the half-closed stream: %v", err)
		}
	}
	return nil
}

// slow: one stream's reader (on the server) does not read until released; meanwhile other
// streams must complete, and in v2 the writer of the blocked stream must stop at the window.
func (c *client) slow() error {
	n := c.opts.bytes
	key := fmt.Sprintf("go-%d-%d", os.Getpid(), c.opts.seed)
	st, err := c.open(fmt.Sprintf("slow %d %s", n, key))
	if err != nil {
		return err
	}
	defer st.Close()
	st.SetDeadline(time.Time{})
	var progress int64
	writeDone := make(chan error, 1)
	sent := newDigest()
	go func() {
		g := newGenerator(c.opts.seed)
		buf := make([]byte, 16<<10)
		for left := n; left > 0; {
			k := int64(len(buf))
			if left < k {
				k = left
			}
			g.Read(buf[:k])
			sent.Write(buf[:k])
			if _, err := st.Write(buf[:k]); err != nil {
				writeDone <- err
				return
			}
			atomic.AddInt64(&progress, k)
			left -= k
		}
		writeDone <- nil
	}()

	others := 8
	var wg sync.WaitGroup
	errs := make(chan error, others)
	start := time.Now()
	for i := 0; i < others; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- c.echo(newGenerator(c.opts.seed + 100 + uint64(i)).bytes(c.opts.otherBytes))
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return fmt.Errorf("another stream while one was blocked: %v", err)
		}
	}
	c.set("others_ms", time.Since(start).Milliseconds())
	time.Sleep(300 * time.Millisecond)
	blocked := atomic.LoadInt64(&progress)
	c.set("blocked_progress", blocked)
	finished := false
	select {
	case err := <-writeDone:
		if err != nil {
			return fmt.Errorf("slow stream write: %v", err)
		}
		finished = true
	default:
	}
	c.set("writer_finished_while_blocked", finished)
	if c.cfg.Version == 2 && n > 262144 {
		if finished || blocked > 262144 {
			return fmt.Errorf("v2 writer sent %d bytes (finished %v) to a reader that read nothing; "+
				"the window is 262144", blocked, finished)
		}
	}
	rs, err := c.open("release " + key)
	if err != nil {
		return err
	}
	ok, err := io.ReadAll(rs)
	rs.Close()
	if err != nil || string(ok) != "ok\n" {
		return fmt.Errorf("release: got %q, %v", ok, err)
	}
	if !finished {
		select {
		case err := <-writeDone:
			if err != nil {
				return fmt.Errorf("slow stream write: %v", err)
			}
		case <-time.After(c.opts.opTimeout):
			return errors.New("slow stream write did not finish after the release")
		}
	}
	st.SetDeadline(time.Now().Add(c.opts.opTimeout))
	return readDigestLine(st, bufio.NewReader(st), sent)
}

func (c *client) churn() error {
	var next, failed int64
	var first atomic.Value
	var wg sync.WaitGroup
	for w := 0; w < c.opts.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1) - 1
				if i >= int64(c.opts.streams) {
					return
				}
				if err := c.echo(newGenerator(c.opts.seed + uint64(i)).bytes(16)); err != nil {
					atomic.AddInt64(&failed, 1)
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	wg.Wait()
	c.set("streams", c.opts.streams)
	c.set("failed", failed)
	if failed > 0 {
		return fmt.Errorf("%d of %d streams failed, first: %v", failed, c.opts.streams, first.Load())
	}
	// Every stream is forgotten on both sides: the stats stream itself is the only one left.
	var peer int
	for end := time.Now().Add(5 * time.Second); ; {
		st, err := c.open("stats")
		if err != nil {
			return err
		}
		line, err := io.ReadAll(st)
		st.Close()
		if err != nil {
			return fmt.Errorf("stats: %v", err)
		}
		if _, err := fmt.Sscanf(string(line), "streams %d", &peer); err != nil {
			return fmt.Errorf("stats: bad reply %q", line)
		}
		if peer <= 1 || time.Now().After(end) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.set("peer_streams_after", peer)
	c.set("local_streams_after", c.sess.NumStreams())
	if peer > 1 {
		return fmt.Errorf("the server still has %d streams after the churn", peer)
	}
	return nil
}

func (c *client) idle() error {
	if err := c.echo([]byte("before the idle period")); err != nil {
		return err
	}
	time.Sleep(c.opts.idle)
	if c.sess.IsClosed() {
		return errors.New("session closed during the idle period")
	}
	if err := c.echo([]byte("after the idle period")); err != nil {
		return fmt.Errorf("after %v idle: %v", c.opts.idle, err)
	}
	return nil
}

// silent: traffic for a while, then the connection goes silent (no read, no write); the
// server's keep-alive must close the session, which this side sees once it reads again.
func (c *client) silent() error {
	if !c.cfg.KeepAliveDisabled {
		return errors.New("silent needs --no-keepalive")
	}
	for end := time.Now().Add(c.opts.active); time.Now().Before(end); {
		if err := c.echo([]byte("traffic before the silence")); err != nil {
			return fmt.Errorf("before the silence: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	st, err := c.open("hold")
	if err != nil {
		return err
	}
	defer st.Close()
	st.SetDeadline(time.Time{})
	rerr := make(chan error, 1)
	go func() {
		var b [1]byte
		_, err := st.Read(b[:])
		rerr <- err
	}()
	c.conn.freeze()
	time.Sleep(c.opts.silence)
	c.conn.thaw()
	select {
	case err := <-rerr:
		c.set("read_error", fmt.Sprint(err))
		if err == nil {
			return errors.New("read data on the held stream")
		}
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("the server did not close the silent session")
	}
}

// peerClosesSession: streams with a pending read, a pending write and a pending accept,
// then the server closes the whole session; every one of them must end with an error. The
// close is requested first, with a delay, because in v1 the pending write (to a stream the
// server does not read) stalls the whole connection once the server's receive buffer is full.
func (c *client) peerClosesSession() error {
	cs, err := c.open("close-session 500")
	if err != nil {
		return err
	}
	defer cs.Close()
	cs.SetDeadline(time.Time{})
	closedErr := make(chan error, 1)
	go func() {
		_, err := cs.Read(make([]byte, 1))
		closedErr <- err
	}()
	a, err := c.open("hold")
	if err != nil {
		return err
	}
	defer a.Close()
	a.SetDeadline(time.Time{})
	readErr := make(chan error, 1)
	go func() {
		_, err := a.Read(make([]byte, 1))
		readErr <- err
	}()
	b, err := c.open("hold")
	if err != nil {
		return err
	}
	defer b.Close()
	b.SetDeadline(time.Time{})
	writeErr := make(chan error, 1)
	go func() {
		_, err := b.Write(make([]byte, 16<<20))
		writeErr <- err
	}()
	acceptErr := make(chan error, 1)
	go func() {
		_, err := c.sess.AcceptStream()
		acceptErr <- err
	}()
	wait := func(name string, ch chan error, d time.Duration) error {
		select {
		case err := <-ch:
			c.set(name, fmt.Sprint(err))
			if err == nil {
				return fmt.Errorf("%s: no error", name)
			}
			return nil
		case <-time.After(d):
			c.set(name, "still pending")
			return fmt.Errorf("%s: still pending %v after the server closed", name, d)
		}
	}
	if err := wait("read_error", readErr, 10*time.Second); err != nil {
		return err
	}
	if err := wait("close_stream_error", closedErr, 5*time.Second); err != nil {
		return err
	}
	if err := wait("accept_error", acceptErr, 5*time.Second); err != nil {
		return err
	}
	// smux v1.5.16 does not wake a writer blocked on the window when the connection fails
	// (only a failed write or a local Close does): close the session as an application would.
	c.sess.Close()
	return wait("write_error", writeErr, 5*time.Second)
}

// mismatch: the server speaks the other protocol version; the attempt must end with an
// error (the server closes the connection), not hang.
func (c *client) mismatch() error {
	st, err := c.sess.OpenStream()
	if err != nil {
		c.set("error", err.Error())
		return nil
	}
	defer st.Close()
	st.SetDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := io.WriteString(st, "echo\nhello"); err == nil {
		var b [5]byte
		_, err = io.ReadFull(st, b[:])
		if err == nil {
			return errors.New("the echo came back across mismatched versions")
		}
		if errors.Is(err, smux.ErrTimeout) {
			return errors.New("no error within 10 s (hang)")
		}
		c.set("stream_error", err.Error())
	} else {
		c.set("stream_error", err.Error())
	}
	c.set("error_after_ms", time.Since(start).Milliseconds())
	if strings.Contains(fmt.Sprint(c.result["stream_error"]), "timeout") {
		return errors.New("timed out instead of failing")
	}
	return nil
}
