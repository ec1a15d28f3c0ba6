// Command smuxbench is the Go reference side of the smux benchmark. It implements the contract
// in BENCH_PROTOCOL.md (command line, stream sub-protocol, STATS record, modes, result line) on
// top of github.com/xtaci/smux, so that its client can drive any conforming server and its
// server can be driven by any conforming client.
//
//	smuxbench server --listen HOST:PORT [--version 1|2] [--raw]
//	smuxbench client --connect HOST:PORT --mode MODE [--version 1|2] [--raw]
//	                 [--streams N] [--bytes B] [--size S] [--duration SEC] [--conns C]
//	beyond the contract, both: [--threads N] [--tls]
//
// Threads: goroutines on the Go scheduler; one goroutine per accepted connection and per
// stream on the server, one per stream (or opener) on the client. GOMAXPROCS follows the CPU
// affinity, so `taskset -c 1` gives one thread running Go code; --threads N sets GOMAXPROCS
// to N (as the GOMAXPROCS environment variable does), the Go counterpart of the C++ tool's
// --threads.
package main

import (
	"crypto/tls"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/xtaci/smux"
)

const implName = "go-xtaci-smux-v1.5.16"

// Stream header tags (section 4 of the contract).
const (
	tagSink   byte = 0x01
	tagSource byte = 0x02
	tagEcho   byte = 0x03
	tagOpen   byte = 0x04
	tagIdle   byte = 0x05
	tagStats  byte = 0x06
)

const (
	headerLen      = 9  // tag u8 + count u64 LE
	statsLen       = 48 // six u64 LE
	maxEchoSize    = 16777216
	maxOpenPayload = 65536
	idleAck        = 0x05

	// serverChunk is the server's read/write call size for SINK and SOURCE. It is the
	// implementation's choice; 64 KiB is two smux frames and a common socket read size.
	serverChunk = 64 << 10

	// Deadlines for operations outside the measured paths. Measured paths carry no deadline
	// because xtaci/smux arms a timer per Write and per blocking Read when one is set, which
	// would be measured as library cost; the client's overall give-up timer covers them.
	dialTimeout  = 10 * time.Second
	statsTimeout = 30 * time.Second
	ackTimeout   = 30 * time.Second

	// The client gives up after 120 s + 2 x duration + bytes to move / bulkFloorRate.
	giveUpBase    = 120 * time.Second
	bulkFloorRate = 10e6 // bytes per second
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, topUsage)
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		os.Exit(runServer(os.Args[2:]))
	case "client":
		os.Exit(runClient(os.Args[2:]))
	case "-h", "-help", "--help", "help":
		fmt.Fprint(os.Stderr, topUsage)
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "smuxbench: unknown command %q\n%s", os.Args[1], topUsage)
		os.Exit(2)
	}
}

const topUsage = `usage:
  smuxbench server --listen HOST:PORT [--version 1|2] [--raw] [--threads N] [--tls]
  smuxbench client --connect HOST:PORT --mode MODE [--version 1|2] [--raw]
                   [--streams N] [--bytes B] [--size S] [--duration SEC] [--conns C]
                   [--threads N] [--tls]
modes: bulk-up, bulk-down, rpc, open, idle
--threads and --tls are beyond the contract (GOMAXPROCS; TLS 1.3 on every connection)
`

const (
	threadsHelp = "beyond the contract: GOMAXPROCS " +
		"(0: the runtime's choice, from the CPU affinity or $GOMAXPROCS)"
	tlsHelp = "beyond the contract: TLS 1.3 on every TCP connection " +
		"(self-signed server certificate made at start, not checked by the client)"
	maxThreads = 256
)

// applyThreads sets GOMAXPROCS from --threads; 0 leaves the runtime's choice.
func applyThreads(n int) error {
	if n < 0 || n > maxThreads {
		return usageError{fmt.Sprintf("--threads must be 0..%d", maxThreads)}
	}
	if n > 0 {
		runtime.GOMAXPROCS(n)
	}
	return nil
}

// usageError is a bad command line: reported on stderr, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errHelpShown reports that -h/--help was asked for: usage went to stderr, exit status 0.
var errHelpShown = errors.New("help shown")

// parseFlags runs fs over args and rejects positional leftovers. The flag package accepts
// -name and --name, each with "value" as the next argument or "=value".
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		// The flag package has already printed the message and the usage.
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// exitForParseError maps a parse failure to the exit status, printing what the flag package
// has not printed yet. Nothing goes to stdout.
func exitForParseError(name string, err error) int {
	if errors.Is(err, errHelpShown) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(os.Stderr, "smuxbench %s: %s\n%s", name, ue.msg, topUsage)
	}
	return 2
}

// jsonString quotes s as a JSON string. HTML escaping is off so that error messages such as
// "127.0.0.1:1->127.0.0.1:2" stay readable.
func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

func smuxConfig(version int) *smux.Config {
	cfg := smux.DefaultConfig()
	cfg.Version = version
	return cfg
}

func putHeader(b []byte, tag byte, count uint64) {
	b[0] = tag
	binary.LittleEndian.PutUint64(b[1:headerLen], count)
}

// readRSS returns VmRSS of this process in bytes, or 0 if /proc is unavailable.
func readRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "VmRSS:") {
			continue
		}
		fields := strings.Fields(line[len("VmRSS:"):])
		if len(fields) == 0 {
			return 0
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb * 1024
	}
	return 0
}

// cpuTimes returns user and system CPU time of this process in microseconds.
func cpuTimes() (userUs, sysUs int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return ru.Utime.Sec*1e6 + int64(ru.Utime.Usec), ru.Stime.Sec*1e6 + int64(ru.Stime.Usec)
}

// ---------------------------------------------------------------------------------------------
// Server

type server struct {
	cfg           *smux.Config
	raw           bool
	activeStreams atomic.Int64 // handlers running, STATS excluded
	totalStreams  atomic.Int64 // handlers started since start, STATS excluded
	activeConns   atomic.Int64 // accepted TCP connections not yet closed
}

func runServer(args []string) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	listen := fs.String("listen", "", "address to bind, HOST:PORT (port 0: kernel picks)")
	version := fs.Int("version", 1, "smux protocol version, 1 or 2 (ignored with --raw)")
	raw := fs.Bool("raw", false, "plain TCP: each accepted connection is one bench stream")
	threads := fs.Int("threads", 0, threadsHelp)
	useTLS := fs.Bool("tls", false, tlsHelp)
	if err := parseFlags(fs, args); err != nil {
		return exitForParseError("server", err)
	}
	if err := applyThreads(*threads); err != nil {
		return exitForParseError("server", err)
	}
	if *listen == "" {
		return exitForParseError("server", usageError{"--listen is required"})
	}
	if *version != 1 && *version != 2 {
		return exitForParseError("server", usageError{"--version must be 1 or 2"})
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "smuxbench server: %v\n", err)
		return 1
	}
	if *useTLS {
		// The handshake runs in each connection's goroutine, at its first read or write.
		cfg, err := serverTLSConfig()
		if err != nil {
			fmt.Fprintf(os.Stderr, "smuxbench server: TLS: %v\n", err)
			return 1
		}
		ln = tls.NewListener(ln, cfg)
	}

	// Installed before the listening line, so a script may signal as soon as it has read it.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		os.Exit(0)
	}()

	// os.Stdout is unbuffered: the line is flushed by this single write.
	fmt.Fprintf(os.Stdout, "{\"listening\":%s,\"pid\":%d}\n",
		jsonString(ln.Addr().String()), os.Getpid())

	s := &server{cfg: smuxConfig(*version), raw: *raw}
	s.serve(ln)
	return 1
}

func (s *server) serve(ln net.Listener) {
	backoff := 5 * time.Millisecond
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Typically EMFILE under thousands of connections: keep serving the ones we
			// have and retry, instead of letting one error end the server.
			fmt.Fprintf(os.Stderr, "smuxbench server: accept: %v\n", err)
			time.Sleep(backoff)
			if backoff < time.Second {
				backoff *= 2
			}
			continue
		}
		backoff = 5 * time.Millisecond
		go s.handleConn(conn)
	}
}

// handleConn owns one TCP connection. A failure here ends this connection only.
func (s *server) handleConn(conn net.Conn) {
	s.activeConns.Add(1)
	defer s.activeConns.Add(-1)
	if s.raw {
		s.handleStream(conn)
		return
	}
	sess, err := smux.Server(conn, s.cfg)
	if err != nil {
		conn.Close()
		return
	}
	defer sess.Close() // also closes conn
	for {
		stream, err := sess.AcceptStream()
		if err != nil {
			return
		}
		go s.handleStream(stream)
	}
}

// handleStream runs the server side of one bench stream and closes it.
func (s *server) handleStream(rw io.ReadWriteCloser) {
	defer rw.Close()
	var hdr [headerLen]byte
	if _, err := io.ReadFull(rw, hdr[:]); err != nil {
		return
	}
	tag, count := hdr[0], binary.LittleEndian.Uint64(hdr[1:])
	if tag == tagStats {
		rec := s.statsRecord()
		rw.Write(rec[:])
		return
	}
	if !validHeader(tag, count) {
		return
	}

	s.totalStreams.Add(1)
	s.activeStreams.Add(1)
	defer s.activeStreams.Add(-1)

	switch tag {
	case tagSink:
		serveSink(rw, int64(count))
	case tagSource:
		serveSource(rw, int64(count))
	case tagEcho:
		serveEcho(rw, int(count))
	case tagOpen:
		serveOpen(rw, int(count))
	case tagIdle:
		serveIdle(rw)
	}
}

func validHeader(tag byte, count uint64) bool {
	switch tag {
	case tagSink, tagSource:
		return count <= math.MaxInt64
	case tagEcho:
		return count >= 1 && count <= maxEchoSize
	case tagOpen:
		return count <= maxOpenPayload
	case tagIdle:
		return true
	}
	return false
}

// chunkPool holds SINK read buffers, so that thousands of finished bulk streams do not each
// leave a buffer behind for the garbage collector.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, serverChunk); return &b }}

// zeroChunk is the SOURCE payload; the bench never checks payload bytes, and writers only read
// it, so all streams share it.
var zeroChunk = make([]byte, serverChunk)

func serveSink(rw io.ReadWriter, want int64) {
	bufp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bufp)
	buf := *bufp
	var got int64
	for got < want {
		n := int64(len(buf))
		if want-got < n {
			n = want - got
		}
		k, err := rw.Read(buf[:n])
		got += int64(k)
		if err != nil && got < want {
			return
		}
	}
	var reply [8]byte
	binary.LittleEndian.PutUint64(reply[:], uint64(got))
	rw.Write(reply[:])
}

func serveSource(w io.Writer, want int64) {
	for sent := int64(0); sent < want; {
		n := int64(len(zeroChunk))
		if want-sent < n {
			n = want - sent
		}
		k, err := w.Write(zeroChunk[:n])
		sent += int64(k)
		if err != nil {
			return
		}
	}
}

func serveEcho(rw io.ReadWriter, size int) {
	msg := make([]byte, size)
	for {
		// io.EOF (nothing read) is the client's close at a message boundary; anything else,
		// including a partial message, ends the stream too.
		if _, err := io.ReadFull(rw, msg); err != nil {
			return
		}
		if _, err := rw.Write(msg); err != nil {
			return
		}
	}
}

func serveOpen(rw io.ReadWriter, length int) {
	payload := make([]byte, length)
	if _, err := io.ReadFull(rw, payload); err != nil {
		return
	}
	if length > 0 {
		rw.Write(payload)
	}
}

func serveIdle(rw io.ReadWriter) {
	if _, err := rw.Write([]byte{idleAck}); err != nil {
		return
	}
	// A small buffer: an idle stream should cost what the library costs, not a read buffer.
	var sink [64]byte
	for {
		if _, err := rw.Read(sink[:]); err != nil {
			return
		}
	}
}

func (s *server) statsRecord() [statsLen]byte {
	user, sys := cpuTimes()
	var rec [statsLen]byte
	for i, v := range []int64{
		readRSS(), user, sys,
		s.activeStreams.Load(), s.totalStreams.Load(), s.activeConns.Load(),
	} {
		binary.LittleEndian.PutUint64(rec[i*8:], uint64(v))
	}
	return rec
}

// ---------------------------------------------------------------------------------------------
// Client: options and result line

type clientOptions struct {
	connect  string
	mode     string
	version  int
	raw      bool
	streams  int
	bytes    int64
	size     int
	duration float64
	conns    int
	threads  int  // beyond the contract: GOMAXPROCS, 0 for the runtime's choice
	tls      bool // beyond the contract: TLS on every connection
}

func (o *clientOptions) bulk() bool { return o.mode == "bulk-up" || o.mode == "bulk-down" }

func (o *clientOptions) durationValue() time.Duration {
	return time.Duration(o.duration * float64(time.Second))
}

func parseClientArgs(args []string) (clientOptions, error) {
	var o clientOptions
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.StringVar(&o.connect, "connect", "", "server address, HOST:PORT")
	fs.StringVar(&o.mode, "mode", "", "bulk-up, bulk-down, rpc, open or idle")
	fs.IntVar(&o.version, "version", 1, "smux protocol version, 1 or 2")
	fs.BoolVar(&o.raw, "raw", false, "one TCP connection per stream instead of smux streams")
	fs.IntVar(&o.streams, "streams", 1, "parallel streams / openers / held streams")
	fs.Int64Var(&o.bytes, "bytes", 268435456, "bulk: bytes per stream")
	fs.IntVar(&o.size, "size", 0, "rpc: message size (default 64); bulk: bytes per call (default 65536)")
	fs.Float64Var(&o.duration, "duration", 3, "rpc/open: seconds of load; idle: seconds to hold")
	fs.IntVar(&o.conns, "conns", 1, "smux sessions carrying the data streams")
	fs.IntVar(&o.threads, "threads", 0, threadsHelp)
	fs.BoolVar(&o.tls, "tls", false, tlsHelp)
	if err := parseFlags(fs, args); err != nil {
		return o, err
	}
	if err := applyThreads(o.threads); err != nil {
		return o, err
	}
	sizeSet := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "size" {
			sizeSet = true
		}
	})

	switch {
	case o.connect == "":
		return o, usageError{"--connect is required"}
	case o.mode == "":
		return o, usageError{"--mode is required"}
	case o.version != 1 && o.version != 2:
		return o, usageError{"--version must be 1 or 2"}
	case o.streams < 1:
		return o, usageError{"--streams must be at least 1"}
	case o.conns < 1:
		return o, usageError{"--conns must be at least 1"}
	case o.bytes < 0:
		return o, usageError{"--bytes must not be negative"}
	case o.duration < 0 || math.IsNaN(o.duration) || math.IsInf(o.duration, 0) || o.duration > 1e6:
		return o, usageError{"--duration must be between 0 and 1e6 seconds"}
	}
	switch o.mode {
	case "bulk-up", "bulk-down":
		if !sizeSet {
			o.size = 65536
		}
	case "rpc":
		if !sizeSet {
			o.size = 64
		}
	case "open", "idle":
		o.size = 0 // not used; reported as 0
	default:
		return o, usageError{fmt.Sprintf("unknown --mode %q", o.mode)}
	}
	if (o.bulk() || o.mode == "rpc") && (o.size < 1 || o.size > maxEchoSize) {
		return o, usageError{fmt.Sprintf("--size must be 1..%d", maxEchoSize)}
	}
	// Effective parameters, as reported (section 3).
	if !o.bulk() {
		o.bytes = 0
	} else {
		o.duration = 0
	}
	if o.raw {
		o.conns = o.streams
	}
	return o, nil
}

// jsonLine builds one JSON object with fields in insertion order.
type jsonLine struct{ b strings.Builder }

func (j *jsonLine) key(k string) {
	if j.b.Len() == 0 {
		j.b.WriteByte('{')
	} else {
		j.b.WriteByte(',')
	}
	j.b.WriteString(strconv.Quote(k)) // keys are plain ASCII
	j.b.WriteByte(':')
}

func (j *jsonLine) str(k, v string) {
	j.key(k)
	j.b.WriteString(jsonString(v))
}

func (j *jsonLine) int(k string, v int64) {
	j.key(k)
	j.b.WriteString(strconv.FormatInt(v, 10))
}

// num writes v rounded to the given number of decimals (negative: as is) in the shortest
// decimal form, so 3 prints as 3 and 0.1+0.2 as 0.3.
func (j *jsonLine) num(k string, v float64, decimals int) {
	j.key(k)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	if decimals >= 0 {
		p := math.Pow10(decimals)
		v = math.Round(v*p) / p
	}
	j.b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
}

func (j *jsonLine) boolean(k string, v bool) {
	j.key(k)
	j.b.WriteString(strconv.FormatBool(v))
}

func (j *jsonLine) String() string { return j.b.String() + "}" }

// Decimals of section 6's rounding.
const (
	rateDecimals    = 1 // mb_per_s, ops_per_s, streams_per_s, per-stream bytes
	latencyDecimals = 1 // microseconds: 0.1 us
	elapsedDecimals = 4 // seconds: 0.1 ms
	cpuDecimals     = 3 // seconds: 1 ms
	exact           = -1
)

// paramFields writes the fields every result line starts with.
func paramFields(j *jsonLine, o *clientOptions) {
	transport, version := "smux", o.version
	if o.raw {
		transport, version = "raw", 0
	}
	j.str("tool", "smuxbench")
	j.str("impl", implName)
	j.str("mode", o.mode)
	j.str("transport", transport)
	j.int("version", int64(version))
	j.int("streams", int64(o.streams))
	j.int("conns", int64(o.conns))
	j.int("size", int64(o.size))
	j.int("bytes_per_stream", o.bytes)
	j.num("duration_s", o.duration, exact)
}

// failureLine is the line of a run that failed before (or instead of) measuring.
func failureLine(o *clientOptions, errors int64, msg string) string {
	var j jsonLine
	paramFields(&j, o)
	j.boolean("ok", false)
	j.int("errors", errors)
	j.str("error", msg)
	return j.String()
}

var (
	outputMu sync.Mutex
	printed  bool
)

// emit prints the run's one result line and exits 0 if ok, 1 otherwise. Only the first caller
// prints (later ones return while it exits), so the main path and the give-up timer can never
// print two lines.
func emit(line string, ok bool) {
	outputMu.Lock()
	if printed {
		outputMu.Unlock()
		return // the first caller is exiting the process
	}
	printed = true
	os.Stdout.WriteString(line + "\n")
	if ok {
		os.Exit(0)
	}
	os.Exit(1)
}

// errorLog counts failed streams and operations and keeps the first message.
type errorLog struct {
	mu    sync.Mutex
	count int64
	first string
}

func (e *errorLog) add(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.count == 0 {
		e.first = fmt.Sprintf(format, args...)
	}
	e.count++
}

// ---------------------------------------------------------------------------------------------
// Client: connections and STATS

// benchStream is what the client needs from a smux stream or a raw TCP connection.
type benchStream interface {
	io.ReadWriteCloser
	SetDeadline(time.Time) error
}

type stats struct {
	rssBytes, cpuUserUs, cpuSysUs            int64
	activeStreams, totalStreams, activeConns int64
}

func (s stats) cpuUs() int64 { return s.cpuUserUs + s.cpuSysUs }

type client struct {
	opts     clientOptions
	cfg      *smux.Config
	sessions []*smux.Session // data sessions, smux mode only
	control  *smux.Session   // carries STATS only, smux mode only
	tlsCfg   *tls.Config     // --tls only
	errs     errorLog
}

// dial makes one connection, TCP or TLS, within timeout when it is not zero (measured paths
// carry no timer). Go enables TCP_NODELAY on every TCP connection by default.
func (c *client) dial(timeout time.Duration) (net.Conn, error) {
	if c.tlsCfg != nil {
		return dialTLS(c.opts.connect, c.tlsCfg, timeout)
	}
	if timeout == 0 {
		return net.Dial("tcp", c.opts.connect)
	}
	return net.DialTimeout("tcp", c.opts.connect, timeout)
}

// connect opens the C data sessions and the control session (smux mode).
func (c *client) connect() error {
	if c.opts.raw {
		return nil
	}
	for i := 0; i <= c.opts.conns; i++ {
		conn, err := c.dial(dialTimeout)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		sess, err := smux.Client(conn, c.cfg)
		if err != nil {
			conn.Close()
			return fmt.Errorf("smux session: %w", err)
		}
		if i < c.opts.conns {
			c.sessions = append(c.sessions, sess)
		} else {
			c.control = sess
		}
	}
	return nil
}

func (c *client) closeSessions() {
	for _, s := range c.sessions {
		s.Close()
	}
	if c.control != nil {
		c.control.Close()
	}
}

// openStream opens bench stream i: a smux stream on data session i mod C, or a new TCP
// connection. measured is set on timed paths, where the dial carries no timer of its own.
func (c *client) openStream(i int, measured bool) (benchStream, error) {
	if c.opts.raw {
		if measured {
			return c.dial(0)
		}
		return c.dial(dialTimeout)
	}
	return c.sessions[i%len(c.sessions)].OpenStream()
}

func (c *client) queryStats() (stats, error) {
	var st benchStream
	var err error
	if c.opts.raw {
		st, err = c.dial(dialTimeout)
	} else {
		st, err = c.control.OpenStream()
	}
	if err != nil {
		return stats{}, fmt.Errorf("STATS: %w", err)
	}
	defer st.Close()
	st.SetDeadline(time.Now().Add(statsTimeout))
	var hdr [headerLen]byte
	putHeader(hdr[:], tagStats, 0)
	if _, err := st.Write(hdr[:]); err != nil {
		return stats{}, fmt.Errorf("STATS: write: %w", err)
	}
	var rec [statsLen]byte
	if _, err := io.ReadFull(st, rec[:]); err != nil {
		return stats{}, fmt.Errorf("STATS: read: %w", err)
	}
	u := func(i int) int64 { return int64(binary.LittleEndian.Uint64(rec[i*8:])) }
	return stats{u(0), u(1), u(2), u(3), u(4), u(5)}, nil
}

func clientCPU() time.Duration {
	user, sys := cpuTimes()
	return time.Duration(user+sys) * time.Microsecond
}

// ---------------------------------------------------------------------------------------------
// Client: run

// modeResult is what a mode measured; fields not used by the mode stay zero.
type modeResult struct {
	elapsed    time.Duration
	totalBytes int64           // bulk
	ops        int64           // rpc, open
	samples    []time.Duration // rpc, open
	held       []benchStream   // idle: streams that got their ack, closed at the end of the run
	rssBase    int64           // idle: client RSS before opening
	rssIdle    int64           // idle: client RSS after holding
}

func runClient(args []string) int {
	o, err := parseClientArgs(args)
	if err != nil {
		return exitForParseError("client", err)
	}
	c := &client{opts: o, cfg: smuxConfig(o.version)}
	if o.tls {
		c.tlsCfg = clientTLSConfig()
	}

	giveUp := giveUpBase + 2*o.durationValue()
	if o.bulk() {
		// Capped so that absurd --bytes values cannot overflow time.Duration.
		allowance := math.Min(float64(o.streams)*float64(o.bytes)/bulkFloorRate, 1e8)
		giveUp += time.Duration(allowance * float64(time.Second))
	}
	time.AfterFunc(giveUp, func() {
		emit(failureLine(&o, 1, fmt.Sprintf("gave up after %.0f s", giveUp.Seconds())), false)
	})

	line, ok := c.run()
	emit(line, ok)
	return 1 // reached only when the give-up timer printed first; it fails the run too
}

// run performs section 5's sequence and returns the result line.
func (c *client) run() (string, bool) {
	o := &c.opts
	if err := c.connect(); err != nil {
		return failureLine(o, 1, err.Error()), false
	}
	before, err := c.queryStats()
	if err != nil {
		return failureLine(o, 1, err.Error()), false
	}

	cpu0 := clientCPU()
	var res modeResult
	switch o.mode {
	case "bulk-up":
		res = c.runBulk(true)
	case "bulk-down":
		res = c.runBulk(false)
	case "rpc":
		res = c.runRPC()
	case "open":
		res = c.runOpen()
	case "idle":
		res = c.runIdle()
	}
	cpu1 := clientCPU()

	// In idle mode the streams are still held here, so this query is also the idle sample.
	after, err := c.queryStats()
	for _, st := range res.held {
		st.Close()
	}
	c.closeSessions()
	if err != nil {
		c.errs.add("%v", err)
		return failureLine(o, c.errs.count, c.errs.first), false
	}
	if o.mode == "idle" && after.activeStreams < int64(len(res.held)) {
		c.errs.add("server reports %d active streams, client holds %d",
			after.activeStreams, len(res.held))
	}

	var j jsonLine
	paramFields(&j, o)
	secs := res.elapsed.Seconds()
	switch o.mode {
	case "bulk-up", "bulk-down":
		j.int("total_bytes", res.totalBytes)
		j.num("mb_per_s", rate(float64(res.totalBytes)/1e6, secs), rateDecimals)
	case "rpc":
		j.int("ops", res.ops)
		j.num("ops_per_s", rate(float64(res.ops), secs), rateDecimals)
	case "open":
		j.int("ops", res.ops)
		j.num("streams_per_s", rate(float64(res.ops), secs), rateDecimals)
	}
	if o.mode == "rpc" || o.mode == "open" {
		latencyFields(&j, res.samples)
	}
	if o.mode == "idle" {
		n := float64(o.streams)
		j.int("held_streams", int64(len(res.held)))
		j.int("client_rss_base", res.rssBase)
		j.int("client_rss_idle", res.rssIdle)
		j.num("client_rss_per_stream", float64(res.rssIdle-res.rssBase)/n, rateDecimals)
		j.int("server_rss_base", before.rssBytes)
		j.int("server_rss_idle", after.rssBytes)
		j.num("server_rss_per_stream", float64(after.rssBytes-before.rssBytes)/n, rateDecimals)
		j.int("server_active_streams", after.activeStreams)
	}
	j.num("elapsed_s", secs, elapsedDecimals)
	j.num("client_cpu_s", (cpu1 - cpu0).Seconds(), cpuDecimals)
	j.num("server_cpu_s", float64(after.cpuUs()-before.cpuUs())/1e6, cpuDecimals)
	j.int("server_rss", after.rssBytes)
	j.int("client_rss", readRSS())
	ok := c.errs.count == 0
	j.boolean("ok", ok)
	j.int("errors", c.errs.count)
	if !ok {
		j.str("error", c.errs.first)
	}
	return j.String(), ok
}

func rate(amount, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return amount / secs
}

// latencyFields writes mean and nearest-rank percentiles in microseconds.
func latencyFields(j *jsonLine, samples []time.Duration) {
	sort.Slice(samples, func(a, b int) bool { return samples[a] < samples[b] })
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	var mean float64
	if len(samples) > 0 {
		var sum float64
		for _, d := range samples {
			sum += us(d)
		}
		mean = sum / float64(len(samples))
	}
	// Rank ceil(p/100 * n), 1-based; p100 is the maximum.
	pct := func(p int) float64 {
		n := len(samples)
		if n == 0 {
			return 0
		}
		rank := (p*n + 99) / 100
		if rank < 1 {
			rank = 1
		}
		return us(samples[rank-1])
	}
	j.num("mean_us", mean, latencyDecimals)
	j.num("p50_us", pct(50), latencyDecimals)
	j.num("p90_us", pct(90), latencyDecimals)
	j.num("p99_us", pct(99), latencyDecimals)
	j.num("max_us", pct(100), latencyDecimals)
}

// startGate releases all workers at once and records the start of the clock.
type startGate struct {
	ready sync.WaitGroup
	open  chan struct{}
	clock time.Time // written before open is closed, read after
}

func newStartGate(workers int) *startGate {
	g := &startGate{open: make(chan struct{})}
	g.ready.Add(workers)
	return g
}

// wait marks a worker ready and blocks until the clock starts.
func (g *startGate) wait() time.Time {
	g.ready.Done()
	<-g.open
	return g.clock
}

// release starts the clock once every worker is ready.
func (g *startGate) release() {
	g.ready.Wait()
	g.clock = time.Now()
	close(g.open)
}

// latest returns the latest of ts relative to from (the measured interval).
func latest(from time.Time, ts []time.Time) time.Duration {
	var d time.Duration
	for _, t := range ts {
		if !t.IsZero() && t.Sub(from) > d {
			d = t.Sub(from)
		}
	}
	return d
}

// openAll opens the n streams of bulk and rpc before the clock; failed opens are counted and
// leave a nil entry.
func (c *client) openAll(n int) []benchStream {
	streams := make([]benchStream, n)
	for i := range streams {
		st, err := c.openStream(i, false)
		if err != nil {
			c.errs.add("stream %d: open: %v", i, err)
			continue
		}
		streams[i] = st
	}
	return streams
}

// runBulk is bulk-up (SINK) when up, bulk-down (SOURCE) otherwise.
func (c *client) runBulk(up bool) modeResult {
	o := &c.opts
	streams := c.openAll(o.streams)
	moved := make([]int64, len(streams))
	finished := make([]time.Time, len(streams))
	var payload []byte
	if up {
		payload = make([]byte, o.size) // shared: writers only read it
	}

	gate := newStartGate(len(streams))
	var done sync.WaitGroup
	for i, st := range streams {
		if st == nil {
			gate.ready.Done()
			continue
		}
		done.Add(1)
		go func(i int, st benchStream) {
			defer done.Done()
			defer st.Close()
			var err error
			if up {
				gate.wait()
				moved[i], err = sinkStream(st, payload, o.bytes)
			} else {
				buf := make([]byte, o.size)
				gate.wait()
				moved[i], err = sourceStream(st, buf, o.bytes)
			}
			finished[i] = time.Now()
			if err != nil {
				c.errs.add("stream %d: %v", i, err)
			}
		}(i, st)
	}
	gate.release()
	done.Wait()

	res := modeResult{elapsed: latest(gate.clock, finished)}
	for _, n := range moved {
		res.totalBytes += n
	}
	return res
}

// sinkStream uploads want bytes in len(payload)-byte writes and checks the server's count.
func sinkStream(st benchStream, payload []byte, want int64) (int64, error) {
	var hdr [headerLen]byte
	putHeader(hdr[:], tagSink, uint64(want))
	if _, err := st.Write(hdr[:]); err != nil {
		return 0, fmt.Errorf("write header: %w", err)
	}
	var sent int64
	for sent < want {
		n := int64(len(payload))
		if want-sent < n {
			n = want - sent
		}
		k, err := st.Write(payload[:n])
		sent += int64(k)
		if err != nil {
			return sent, fmt.Errorf("write after %d of %d bytes: %w", sent, want, err)
		}
	}
	var reply [8]byte
	if _, err := io.ReadFull(st, reply[:]); err != nil {
		return sent, fmt.Errorf("read count: %w", err)
	}
	if got := binary.LittleEndian.Uint64(reply[:]); got != uint64(want) {
		return sent, fmt.Errorf("server counted %d bytes, sent %d", got, want)
	}
	return sent, nil
}

// sourceStream downloads want bytes in reads of at most len(buf) bytes.
func sourceStream(st benchStream, buf []byte, want int64) (int64, error) {
	var hdr [headerLen]byte
	putHeader(hdr[:], tagSource, uint64(want))
	if _, err := st.Write(hdr[:]); err != nil {
		return 0, fmt.Errorf("write header: %w", err)
	}
	var got int64
	for got < want {
		n := int64(len(buf))
		if want-got < n {
			n = want - got
		}
		k, err := st.Read(buf[:n])
		got += int64(k)
		if err != nil && got < want {
			return got, fmt.Errorf("read after %d of %d bytes: %w", got, want, err)
		}
	}
	return got, nil
}

func (c *client) runRPC() modeResult {
	o := &c.opts
	streams := c.openAll(o.streams)
	var hdr [headerLen]byte
	putHeader(hdr[:], tagEcho, uint64(o.size))
	for i, st := range streams {
		if st == nil {
			continue
		}
		if _, err := st.Write(hdr[:]); err != nil {
			c.errs.add("stream %d: write header: %v", i, err)
			st.Close()
			streams[i] = nil
		}
	}

	payload := make([]byte, o.size) // shared: writers only read it
	samples := make([][]time.Duration, len(streams))
	finished := make([]time.Time, len(streams))
	gate := newStartGate(len(streams))
	var done sync.WaitGroup
	for i, st := range streams {
		if st == nil {
			gate.ready.Done()
			continue
		}
		done.Add(1)
		go func(i int, st benchStream) {
			defer done.Done()
			reply := make([]byte, o.size)
			mine := make([]time.Duration, 0, 1024)
			clock := gate.wait()
			end := clock.Add(o.durationValue())
			// Each round trip's end time is the next one's start: one clock read per trip.
			t := time.Now()
			finished[i] = clock
			for t.Before(end) {
				if _, err := st.Write(payload); err != nil {
					c.errs.add("stream %d: write: %v", i, err)
					break
				}
				if _, err := io.ReadFull(st, reply); err != nil {
					c.errs.add("stream %d: read: %v", i, err)
					break
				}
				now := time.Now()
				mine = append(mine, now.Sub(t))
				finished[i] = now
				t = now
			}
			samples[i] = mine
		}(i, st)
	}
	gate.release()
	done.Wait()
	// Closed after the clock stopped, so teardown does not load the measured interval.
	for _, st := range streams {
		if st != nil {
			st.Close()
		}
	}

	res := modeResult{elapsed: latest(gate.clock, finished)}
	for _, s := range samples {
		res.ops += int64(len(s))
		res.samples = append(res.samples, s...)
	}
	return res
}

func (c *client) runOpen() modeResult {
	o := &c.opts
	samples := make([][]time.Duration, o.streams)
	finished := make([]time.Time, o.streams)
	gate := newStartGate(o.streams)
	var done sync.WaitGroup
	for i := 0; i < o.streams; i++ {
		done.Add(1)
		go func(i int) {
			defer done.Done()
			// Header and the 1-byte payload go out in one 10-byte write.
			msg := make([]byte, headerLen+1)
			putHeader(msg, tagOpen, 1)
			var reply [2]byte
			mine := make([]time.Duration, 0, 1024)
			clock := gate.wait()
			end := clock.Add(o.durationValue())
			t := time.Now()
			finished[i] = clock
			for t.Before(end) {
				if err := c.openOnce(i, msg, reply[:]); err != nil {
					// An opener stops at its first failure; a dead session would otherwise
					// spin and count errors until the end of the duration.
					c.errs.add("opener %d: %v", i, err)
					break
				}
				now := time.Now()
				mine = append(mine, now.Sub(t))
				finished[i] = now
				t = now
			}
			samples[i] = mine
		}(i)
	}
	gate.release()
	done.Wait()

	res := modeResult{elapsed: latest(gate.clock, finished)}
	for _, s := range samples {
		res.ops += int64(len(s))
		res.samples = append(res.samples, s...)
	}
	return res
}

// openOnce runs one OPEN stream: open, send, read the echoed byte, read the server's close,
// close.
func (c *client) openOnce(i int, msg, reply []byte) error {
	st, err := c.openStream(i, true)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer st.Close()
	if _, err := st.Write(msg); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if _, err := io.ReadFull(st, reply[:1]); err != nil {
		return fmt.Errorf("read reply: %w", err)
	}
	n, err := st.Read(reply)
	if n > 0 {
		return errors.New("more than the 1-byte reply before end-of-stream")
	}
	if err != io.EOF {
		return fmt.Errorf("read end-of-stream: %v", err)
	}
	return nil
}

func (c *client) runIdle() modeResult {
	o := &c.opts
	res := modeResult{rssBase: readRSS()}
	start := time.Now()

	// All streams are opened and sent their header first, then all acks are read, so the
	// server sees the whole batch at once as in a real fan-in.
	var hdr [headerLen]byte
	putHeader(hdr[:], tagIdle, 0)
	streams := make([]benchStream, 0, o.streams)
	index := make([]int, 0, o.streams)
	for i := 0; i < o.streams; i++ {
		st, err := c.openStream(i, false)
		if err != nil {
			c.errs.add("stream %d: open: %v", i, err)
			continue
		}
		if _, err := st.Write(hdr[:]); err != nil {
			c.errs.add("stream %d: write header: %v", i, err)
			st.Close()
			continue
		}
		streams = append(streams, st)
		index = append(index, i)
	}
	var ack [1]byte
	for k, st := range streams {
		st.SetDeadline(time.Now().Add(ackTimeout))
		_, err := io.ReadFull(st, ack[:])
		st.SetDeadline(time.Time{})
		switch {
		case err != nil:
			c.errs.add("stream %d: read ack: %v", index[k], err)
			st.Close()
		case ack[0] != idleAck:
			c.errs.add("stream %d: ack is 0x%02x, want 0x%02x", index[k], ack[0], idleAck)
			st.Close()
		default:
			res.held = append(res.held, st)
		}
	}
	res.elapsed = time.Since(start)

	time.Sleep(o.durationValue())
	res.rssIdle = readRSS()
	return res
}
