// kcppeer: a kcp-go + smux peer for the C++ KCP transport's interop tests, configured as
// kcptun configures its own ends (cipher names and key lengths, --mode presets, snappy
// compression under smux).
//
//	kcppeer -role server [settings]   listens on -addr (127.0.0.1:0), prints the address, and
//	                                  echoes every smux stream of the first KCP session until
//	                                  its end of file, then closes it
//	kcppeer -role client -addr HOST:PORT [settings] [-streams N -stream-bytes B -bulk-bytes M]
//	                                  opens stream 0 (M bytes) and streams 1..N (B + 1021·i
//	                                  bytes each) at once, sends each its pattern, reads the
//	                                  echo back and compares it byte by byte, closes it; then
//	                                  prints "ok streams=N+1 bytes=TOTAL fnv=HEX", HEX the
//	                                  FNV-1a 64 of stream 0's echo
//
// Either role then keeps its session (so KCP still retransmits what the other end has not
// acknowledged yet, such as the last FINs) until SIGTERM, and exits 0, or 1 when a stream
// failed. Any failure is reported on stderr, and a client's ends the process at once.
//
// The pattern of stream i at offset p alternates 64 KiB blocks of a compressible ramp and of
// splitmix64 noise, so that compression sends both compressed and stored snappy chunks; the
// C++ test computes the same bytes (kcp_interop_test.cpp).
package main

import (
	"crypto/sha1"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/golang/snappy"
	"github.com/xtaci/kcp-go"
	"github.com/xtaci/smux"
	"golang.org/x/crypto/pbkdf2"
)

var (
	role        = flag.String("role", "", "server or client")
	addr        = flag.String("addr", "127.0.0.1:0", "server: address to listen on; client: address to dial")
	crypt       = flag.String("crypt", "aes", "kcptun's --crypt, or null for no crypt header")
	key         = flag.String("key", "it's a secrect", "kcptun's --key")
	dataShards  = flag.Int("ds", 10, "FEC data shards (0: off)")
	parShards   = flag.Int("ps", 3, "FEC parity shards")
	mode        = flag.String("mode", "fast", "kcptun's --mode: normal, fast, fast2, fast3")
	sndwnd      = flag.Int("sndwnd", 128, "KCP send window, segments")
	rcvwnd      = flag.Int("rcvwnd", 512, "KCP receive window, segments")
	sockbuf     = flag.Int("sockbuf", 4194304, "UDP socket buffers, bytes (kcptun's --sockbuf)")
	smuxVersion = flag.Int("smux", 1, "smux protocol version, 1 or 2")
	comp        = flag.Bool("comp", false, "kcptun's snappy compression between KCP and smux")
	streams     = flag.Int("streams", 16, "client: small streams besides the bulk one")
	streamBytes = flag.Int64("stream-bytes", 65536, "client: bytes of small stream i are this + 1021*i")
	bulkBytes   = flag.Int64("bulk-bytes", 4<<20, "client: bytes of the bulk stream 0")
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "kcppeer %s: %s\n", *role, fmt.Sprintf(format, args...))
	os.Exit(1)
}

// blockCrypt is kcptun's choice of cipher and key length for a --crypt name.
func blockCrypt() (kcp.BlockCrypt, error) {
	pass := pbkdf2.Key([]byte(*key), []byte("kcp-go"), 4096, 32, sha1.New)
	switch *crypt {
	case "null":
		return nil, nil
	case "none":
		return kcp.NewNoneBlockCrypt(pass)
	case "xor":
		return kcp.NewSimpleXORBlockCrypt(pass)
	case "salsa20":
		return kcp.NewSalsa20BlockCrypt(pass)
	case "aes":
		return kcp.NewAESBlockCrypt(pass)
	case "aes-128":
		return kcp.NewAESBlockCrypt(pass[:16])
	case "aes-192":
		return kcp.NewAESBlockCrypt(pass[:24])
	case "blowfish":
		return kcp.NewBlowfishBlockCrypt(pass)
	case "cast5":
		return kcp.NewCast5BlockCrypt(pass[:16])
	case "3des":
		return kcp.NewTripleDESBlockCrypt(pass[:24])
	case "sm4":
		return kcp.NewSM4BlockCrypt(pass[:16])
	}
	return nil, fmt.Errorf("unknown -crypt %q", *crypt)
}

// tune sets what kcptun sets on every session: stream mode, no write delay, the --mode preset.
func tune(s *kcp.UDPSession) error {
	presets := map[string][4]int{
		"normal": {0, 40, 2, 1}, "fast": {0, 30, 2, 1}, "fast2": {1, 20, 2, 1}, "fast3": {1, 10, 2, 1},
	}
	p, ok := presets[*mode]
	if !ok {
		return fmt.Errorf("unknown -mode %q", *mode)
	}
	s.SetStreamMode(true)
	s.SetWriteDelay(false)
	s.SetNoDelay(p[0], p[1], p[2], p[3])
	s.SetWindowSize(*sndwnd, *rcvwnd)
	s.SetMtu(1350)
	return nil
}

// compStream is kcptun's CompStream: snappy framing, flushed after every write.
type compStream struct {
	conn net.Conn
	w    *snappy.Writer
	r    *snappy.Reader
}

func (c *compStream) Read(p []byte) (int, error) { return c.r.Read(p) }
func (c *compStream) Write(p []byte) (int, error) {
	if _, err := c.w.Write(p); err != nil {
		return 0, err
	}
	if err := c.w.Flush(); err != nil {
		return 0, err
	}
	return len(p), nil
}
func (c *compStream) Close() error { return c.conn.Close() }

// smuxConn is what smux runs over: the KCP session, compressed when asked.
func smuxConn(s *kcp.UDPSession) io.ReadWriteCloser {
	if !*comp {
		return s
	}
	return &compStream{conn: s, w: snappy.NewBufferedWriter(s), r: snappy.NewReader(s)}
}

func smuxConfig() *smux.Config {
	c := smux.DefaultConfig()
	c.Version = *smuxVersion
	return c
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fill writes stream `seed`'s pattern from offset `pos` into b.
func fill(seed, pos uint64, b []byte) {
	for i := range b {
		p := pos + uint64(i)
		if (p>>16)&1 == 0 {
			b[i] = byte(p*7 + (p >> 11) + seed)
		} else {
			b[i] = byte(splitmix64(seed^(p/8)*0x2545f4914f6cdd1d) >> (8 * (p % 8)))
		}
	}
}

const chunk = 32 << 10

// echo sends n pattern bytes on a new stream, reads n back comparing each one, then closes
// the stream. It returns the FNV-1a 64 of the echo.
func echo(sess *smux.Session, seed uint64, n int64) (uint64, error) {
	st, err := sess.OpenStream()
	if err != nil {
		return 0, fmt.Errorf("stream %d: open: %w", seed, err)
	}
	defer st.Close()
	wrote := make(chan error, 1)
	go func() {
		buf := make([]byte, chunk)
		for at := int64(0); at < n; {
			b := buf[:min64(chunk, n-at)]
			fill(seed, uint64(at), b)
			if _, err := st.Write(b); err != nil {
				wrote <- fmt.Errorf("stream %d: write at %d: %w", seed, at, err)
				return
			}
			at += int64(len(b))
		}
		wrote <- nil
	}()
	h := fnv.New64a()
	got, want := make([]byte, chunk), make([]byte, chunk)
	for at := int64(0); at < n; {
		k, err := io.ReadFull(st, got[:min64(chunk, n-at)])
		fill(seed, uint64(at), want[:k])
		for i := 0; i < k; i++ {
			if got[i] != want[i] {
				return 0, fmt.Errorf("stream %d: echo byte %d is %#x, sent %#x", seed, at+int64(i), got[i], want[i])
			}
		}
		h.Write(got[:k])
		at += int64(k)
		if err != nil {
			return 0, fmt.Errorf("stream %d: read after %d of %d bytes: %w", seed, at, n, err)
		}
	}
	return h.Sum64(), <-wrote
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func client(block kcp.BlockCrypt) {
	conn, err := kcp.DialWithOptions(*addr, block, *dataShards, *parShards)
	if err != nil {
		fail("dial: %v", err)
	}
	if err := tune(conn); err != nil {
		fail("%v", err)
	}
	conn.SetReadBuffer(*sockbuf)
	conn.SetWriteBuffer(*sockbuf)
	sess, err := smux.Client(smuxConn(conn), smuxConfig())
	if err != nil {
		fail("smux: %v", err)
	}
	type result struct {
		seed uint64
		sum  uint64
		err  error
	}
	results := make(chan result, *streams+1)
	total := int64(0)
	for i := 0; i <= *streams; i++ {
		n := *bulkBytes
		if i > 0 {
			n = *streamBytes + 1021*int64(i)
		}
		total += n
		go func(seed uint64, n int64) {
			sum, err := echo(sess, seed, n)
			results <- result{seed, sum, err}
		}(uint64(i), n)
	}
	var bulk uint64
	errs := ""
	for i := 0; i <= *streams; i++ {
		r := <-results
		if r.err != nil {
			errs += "\n  " + r.err.Error()
		}
		if r.seed == 0 {
			bulk = r.sum
		}
	}
	if errs != "" {
		fail("%s", errs)
	}
	fmt.Printf("ok streams=%d bytes=%d fnv=%016x\n", *streams+1, total, bulk)
}

// streamErrors counts the server's failed streams.
var streamErrors atomic.Int32

func server(block kcp.BlockCrypt) {
	l, err := kcp.ListenWithOptions(*addr, block, *dataShards, *parShards)
	if err != nil {
		fail("listen: %v", err)
	}
	l.SetReadBuffer(*sockbuf)
	l.SetWriteBuffer(*sockbuf)
	fmt.Println(l.Addr().String())
	conn, err := l.AcceptKCP()
	if err != nil {
		fail("accept: %v", err)
	}
	if err := tune(conn); err != nil {
		fail("%v", err)
	}
	sess, err := smux.Server(smuxConn(conn), smuxConfig())
	if err != nil {
		fail("smux: %v", err)
	}
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			fail("the session ended: %v", err)
		}
		go func() {
			// io.Copy hands over to smux's WriteTo, which ends with io.EOF.
			if _, err := io.Copy(st, st); err != nil && err != io.EOF {
				fmt.Fprintf(os.Stderr, "kcppeer server: stream %d: %v\n", st.ID(), err)
				streamErrors.Add(1)
			}
			st.Close()
		}()
	}
}

func main() {
	flag.Parse()
	block, err := blockCrypt()
	if err != nil {
		fail("%v", err)
	}
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	switch *role {
	case "server":
		go server(block)
	case "client":
		client(block)
	default:
		fail("-role must be server or client")
	}
	<-term
	if streamErrors.Load() != 0 {
		os.Exit(1)
	}
}
