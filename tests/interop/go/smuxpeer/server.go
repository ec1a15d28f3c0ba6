// The server: one session per accepted connection, one goroutine per stream, and the first
// line of every stream says what to do with it (the command protocol of README.md).

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xtaci/smux"
)

type server struct {
	cfg           *smux.Config
	streamTimeout time.Duration
	linger        time.Duration

	mu       sync.Mutex
	releases map[string]chan struct{} // "slow" streams wait here for "release KEY"
}

type serverSession struct {
	id   int64
	sess *smux.Session
	conn *freezeConn
}

func runServer(args []string) int {
	log.SetPrefix("smuxpeer server: ")
	log.SetFlags(log.Lmicroseconds)
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	var cf configFlags
	cf.register(fs)
	listen := fs.String("listen", "127.0.0.1:0", "HOST:PORT to listen on (port 0: any)")
	lifetime := fs.Int("lifetime", 900000, "exit after this many ms whatever happens (a safety net)")
	streamTimeout := fs.Int("stream-timeout", 300000, "deadline of the work of each stream, ms")
	linger := fs.Int("protocol-error-linger", 10000,
		"after a protocol error, keep the session (and its keep-alive) this long, ms")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := cf.build()
	if err != nil {
		log.Printf("invalid config: %v", err)
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Printf("listen: %v", err)
		return 1
	}
	addr, _ := json.Marshal(ln.Addr().String())
	fmt.Printf("{\"listening\":%s,\"pid\":%d}\n", addr, os.Getpid())

	go func() {
		time.Sleep(time.Duration(*lifetime) * time.Millisecond)
		log.Printf("lifetime of %d ms over, exiting", *lifetime)
		os.Exit(3)
	}()

	srv := &server{
		cfg:           cfg,
		streamTimeout: time.Duration(*streamTimeout) * time.Millisecond,
		linger:        time.Duration(*linger) * time.Millisecond,
		releases:      make(map[string]chan struct{}),
	}
	var next int64
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Printf("accept: %v", err)
			return 1
		}
		go srv.serveConn(c, atomic.AddInt64(&next, 1))
	}
}

func (srv *server) serveConn(c net.Conn, id int64) {
	fc := newFreezeConn(c)
	sess, err := smux.Server(fc, srv.cfg)
	if err != nil {
		log.Printf("session %d: %v", id, err)
		c.Close()
		return
	}
	ss := &serverSession{id: id, sess: sess, conn: fc}
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			log.Printf("session %d: accept ended: %v", id, err)
			if errors.Is(err, smux.ErrInvalidProtocol) {
				// Go stops reading after a protocol error but keeps sending keep-alives
				// until the session is closed; keep it that way for a while, as an
				// application that does not close at once would, so the peer sees them.
				waitClosed(sess, srv.linger)
			}
			sess.Close()
			return
		}
		go srv.handle(ss, st)
	}
}

// waitClosed returns when the session is closed (by the keep-alive or the application) or
// after d.
func waitClosed(sess *smux.Session, d time.Duration) {
	end := time.Now().Add(d)
	for !sess.IsClosed() && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
	}
}

func (srv *server) release(key string) chan struct{} {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	ch, ok := srv.releases[key]
	if !ok {
		ch = make(chan struct{})
		srv.releases[key] = ch
	}
	return ch
}

type args []string

func (a args) int64(i int) (int64, error) {
	if i >= len(a) {
		return 0, fmt.Errorf("%s: argument %d missing", a[0], i)
	}
	v, err := strconv.ParseInt(a[i], 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s: bad argument %q", a[0], a[i])
	}
	return v, nil
}

func (a args) uint64(i int) (uint64, error) {
	if i >= len(a) {
		return 0, fmt.Errorf("%s: argument %d missing", a[0], i)
	}
	v, err := strconv.ParseUint(a[i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: bad argument %q", a[0], a[i])
	}
	return v, nil
}

func (srv *server) handle(ss *serverSession, st *smux.Stream) {
	defer st.Close()
	br := bufio.NewReaderSize(st, 64<<10)
	st.SetReadDeadline(time.Now().Add(30 * time.Second))
	line, err := readLine(br)
	if err != nil {
		log.Printf("session %d stream %d: no command line: %v", ss.id, st.ID(), err)
		return
	}
	st.SetDeadline(time.Now().Add(srv.streamTimeout))
	a := args(strings.Fields(line))
	if len(a) == 0 {
		a = args{""}
	}
	if err := srv.run(ss, st, br, a); err != nil {
		log.Printf("session %d stream %d %q: %v", ss.id, st.ID(), line, err)
		// the client sees the stream end early, or reads this line instead of a digest
		io.WriteString(st, "error "+strings.ReplaceAll(err.Error(), "\n", " ")+"\n")
	}
}

func (srv *server) run(ss *serverSession, st *smux.Stream, br *bufio.Reader, a args) error {
	switch a[0] {
	case "echo":
		buf := make([]byte, 64<<10)
		for {
			n, err := br.Read(buf)
			if n > 0 {
				if _, werr := st.Write(buf[:n]); werr != nil {
					log.Printf("session %d stream %d echo: write: %v", ss.id, st.ID(), werr)
					return nil
				}
			}
			if err == io.EOF {
				return nil
			}
			if err != nil {
				log.Printf("session %d stream %d echo: read: %v", ss.id, st.ID(), err)
				return nil
			}
		}

	case "sink":
		n, err := a.int64(1)
		if err != nil {
			return err
		}
		d := newDigest()
		if _, err := io.CopyN(d, br, n); err != nil {
			return fmt.Errorf("sink: after %d of %d bytes: %v", d.n, n, err)
		}
		_, err = io.WriteString(st, d.line())
		return err

	case "gen":
		n, err := a.int64(1)
		if err != nil {
			return err
		}
		seed, err := a.uint64(2)
		if err != nil {
			return err
		}
		w := int64(64 << 10)
		if len(a) > 3 {
			if w, err = a.int64(3); err != nil || w == 0 {
				return fmt.Errorf("gen: bad write size")
			}
		}
		g := newGenerator(seed)
		buf := make([]byte, w)
		for left := n; left > 0; {
			c := w
			if left < c {
				c = left
			}
			g.Read(buf[:c])
			if _, err := st.Write(buf[:c]); err != nil {
				return fmt.Errorf("gen: write at %d of %d: %v", n-left, n, err)
			}
			left -= c
		}
		return nil

	case "sizes":
		seed, err := a.uint64(1)
		if err != nil {
			return err
		}
		if len(a) < 3 {
			return errors.New("sizes: size list missing")
		}
		sizes, err := parseSizes(a[2])
		if err != nil {
			return err
		}
		g := newGenerator(seed)
		for _, n := range sizes {
			if _, err := st.Write(g.bytes(n)); err != nil { // one Write call per size
				return fmt.Errorf("sizes: write of %d: %v", n, err)
			}
		}
		return nil

	case "halfclose":
		// The client sends its request and FIN first; the reply (digest line of the
		// request, then N generated bytes) is written after that FIN, in one Write so that
		// a v2 reply within the client's window never waits for a window update (smux
		// v1.5.16 fails such a wait with EOF once the peer's FIN arrived).
		n, err := a.int64(1)
		if err != nil {
			return err
		}
		seed, err := a.uint64(2)
		if err != nil {
			return err
		}
		d := newDigest()
		// (smux's Stream.WriteTo, which io.Copy uses, reports the end of the stream as
		// io.EOF instead of nil)
		if _, err := io.Copy(d, br); err != nil && err != io.EOF {
			return fmt.Errorf("halfclose: reading the request: %v", err)
		}
		reply := append([]byte(d.line()), newGenerator(seed).bytes(int(n))...)
		if _, err := st.Write(reply); err != nil {
			return fmt.Errorf("halfclose: reply after the peer's FIN: %v", err)
		}
		return nil

	case "finfirst":
		return errors.New("finfirst needs a write-only close, which smux v1.5.16 does not have")

	case "slow":
		n, err := a.int64(1)
		if err != nil {
			return err
		}
		if len(a) < 3 {
			return errors.New("slow: key missing")
		}
		select {
		case <-srv.release(a[2]):
		case <-time.After(60 * time.Second):
			return errors.New("slow: no release within 60 s")
		}
		d := newDigest()
		buf := make([]byte, 16<<10)
		for d.n < n {
			c := int64(len(buf))
			if n-d.n < c {
				c = n - d.n
			}
			if _, err := io.ReadFull(br, buf[:c]); err != nil {
				return fmt.Errorf("slow: after %d of %d bytes: %v", d.n, n, err)
			}
			d.Write(buf[:c])
			time.Sleep(2 * time.Millisecond)
		}
		_, err = io.WriteString(st, d.line())
		return err

	case "release":
		if len(a) < 2 {
			return errors.New("release: key missing")
		}
		ch := srv.release(a[1])
		srv.mu.Lock()
		select {
		case <-ch:
		default:
			close(ch)
		}
		srv.mu.Unlock()
		_, err := io.WriteString(st, "ok\n")
		return err

	case "hold":
		// Neither reads nor writes: the stream stays open until the session ends.
		st.SetDeadline(time.Time{})
		end := time.Now().Add(srv.streamTimeout)
		for !ss.sess.IsClosed() && time.Now().Before(end) {
			select {
			case <-st.GetDieCh():
				return nil
			case <-time.After(10 * time.Millisecond):
			}
		}
		return nil

	case "silent":
		// Acknowledge, then stop reading and writing the connection for MS (default 10 s).
		ms := int64(10000)
		if len(a) > 1 {
			var err error
			if ms, err = a.int64(1); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(st, "ok\n"); err != nil {
			return err
		}
		log.Printf("session %d: silent for %d ms", ss.id, ms)
		ss.conn.freeze()
		time.Sleep(time.Duration(ms) * time.Millisecond)
		ss.conn.thaw()
		return nil

	case "close-session":
		// Closes the whole session, after MS (default 0): the delay lets the client start
		// operations that stall the connection (a v1 write to a stream nobody reads).
		if len(a) > 1 {
			ms, err := a.int64(1)
			if err != nil {
				return err
			}
			time.Sleep(time.Duration(ms) * time.Millisecond)
		}
		log.Printf("session %d: closing on request", ss.id)
		ss.sess.Close()
		return nil

	case "stats":
		_, err := fmt.Fprintf(st, "streams %d\n", ss.sess.NumStreams())
		return err

	default:
		return fmt.Errorf("unknown command %q", a[0])
	}
}
