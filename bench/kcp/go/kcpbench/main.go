// kcpbench: one KCP link measured end to end on kcp-go, the Go twin of the C++ smux-kcp-bench
// (bench/kcp) with the same command line and the same JSON lines:
//
//	kcpbench server --listen HOST:PORT [kcptun flags]
//	kcpbench client --connect HOST:PORT [--bytes N] [kcptun flags]
//
// The client sends an 8-byte header with N (u64 little-endian), then N pattern bytes (byte p
// is p mod 251) in --chunk writes, and waits for the server's 16-byte answer (bytes received,
// bytes that differed from the pattern); it prints one JSON line with the goodput and its CPU
// time. The server prints {"listening":...,"pid":...}, then one JSON line per conversation
// with its own figures, and keeps each conversation --linger seconds after its answer so KCP
// can resend it. Both sides are configured as kcptun configures its sessions: stream mode, no
// write delay, the --mode preset, windows, MTU, socket buffers, the cipher keyed by PBKDF2.
// No smux on top. The KCP counters are kcp-go's DefaultSnmp: process-wide, which is one
// conversation in a bench run.
package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/xtaci/kcp-go"
	"golang.org/x/crypto/pbkdf2"
)

const (
	headerSize = 8
	replySize  = 16
	period     = 251
	readSize   = 64 * 1024
)

// linkParams are kcptun's flags; the JSON names are those of the result lines.
type linkParams struct {
	Crypt       string `json:"crypt"`
	key         string
	DataShard   int    `json:"datashard"`
	ParityShard int    `json:"parityshard"`
	Mode        string `json:"mode"`
	NoDelay     int    `json:"nodelay"`
	Interval    int    `json:"interval"`
	Resend      int    `json:"resend"`
	NC          int    `json:"nc"`
	MTU         int    `json:"mtu"`
	SndWnd      int    `json:"sndwnd"`
	RcvWnd      int    `json:"rcvwnd"`
	SockBuf     int    `json:"sockbuf"`
	AckNoDelay  bool   `json:"acknodelay"`
	Stream      bool   `json:"stream"`
}

// kcptun's --mode presets: nodelay, interval, resend, nc.
var presets = map[string][4]int{
	"normal": {0, 40, 2, 1}, "fast": {0, 30, 2, 1}, "fast2": {1, 20, 2, 1}, "fast3": {1, 10, 2, 1},
}

func addLinkFlags(fs *flag.FlagSet, p *linkParams) {
	fs.StringVar(&p.Crypt, "crypt", "aes", "kcptun's cipher: aes, aes-128, aes-192, salsa20, blowfish, cast5, 3des, sm4, xor, none; null: no crypt header")
	fs.StringVar(&p.key, "key", "it's a secrect", "kcptun's --key (PBKDF2 password)")
	fs.IntVar(&p.DataShard, "datashard", 0, "FEC data shards, 0: off (kcptun: 10)")
	fs.IntVar(&p.ParityShard, "parityshard", 0, "FEC parity shards (kcptun: 3)")
	fs.StringVar(&p.Mode, "mode", "fast", "kcptun's preset: normal, fast, fast2, fast3")
	fs.IntVar(&p.MTU, "mtu", 1350, "whole UDP payload, bytes")
	fs.IntVar(&p.SndWnd, "sndwnd", 0, "send window, segments (client 128, server 1024)")
	fs.IntVar(&p.RcvWnd, "rcvwnd", 0, "receive window, segments (client 512, server 1024)")
	fs.IntVar(&p.SockBuf, "sockbuf", 4194304, "UDP socket buffers, bytes")
	fs.BoolVar(&p.AckNoDelay, "acknodelay", false, "send ACKs as soon as data arrives")
}

// finishLink fills in the role's window defaults and the preset's knobs.
func finishLink(p *linkParams, client bool) error {
	if p.SndWnd == 0 {
		p.SndWnd = map[bool]int{true: 128, false: 1024}[client]
	}
	if p.RcvWnd == 0 {
		p.RcvWnd = map[bool]int{true: 512, false: 1024}[client]
	}
	m, ok := presets[p.Mode]
	if !ok {
		return fmt.Errorf("unknown --mode %q (normal, fast, fast2, fast3)", p.Mode)
	}
	p.NoDelay, p.Interval, p.Resend, p.NC = m[0], m[1], m[2], m[3]
	p.Stream = true
	if p.DataShard < 0 || p.ParityShard < 0 || (p.DataShard == 0) != (p.ParityShard == 0) {
		return fmt.Errorf("--datashard and --parityshard: both 0, or both positive")
	}
	if p.MTU <= 0 || p.SndWnd <= 0 || p.RcvWnd <= 0 || p.SockBuf < 0 {
		return fmt.Errorf("--mtu, --sndwnd, --rcvwnd must be positive, --sockbuf not negative")
	}
	_, err := p.blockCrypt()
	return err
}

// blockCrypt is kcptun's choice of cipher and key length for a --crypt name.
func (p *linkParams) blockCrypt() (kcp.BlockCrypt, error) {
	pass := pbkdf2.Key([]byte(p.key), []byte("kcp-go"), 4096, 32, sha1.New)
	switch p.Crypt {
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
	return nil, fmt.Errorf("unknown --crypt %q", p.Crypt)
}

// tune sets what kcptun sets on every session.
func (p *linkParams) tune(s *kcp.UDPSession) {
	s.SetStreamMode(true)
	s.SetWriteDelay(false)
	s.SetNoDelay(p.NoDelay, p.Interval, p.Resend, p.NC)
	s.SetWindowSize(p.SndWnd, p.RcvWnd)
	s.SetMtu(p.MTU)
	s.SetACKNoDelay(p.AckNoDelay)
}

// ---- pattern: byte p of a run is p mod 251; any slice is a sub-slice of one buffer.

type pattern []byte

func newPattern(maxSlice int) pattern {
	b := make([]byte, maxSlice+period)
	for i := range b {
		b[i] = byte(i % period)
	}
	return b
}

func (p pattern) slice(at uint64, n int) []byte {
	off := int(at % period)
	return p[off : off+n]
}

func (p pattern) mismatches(at uint64, got []byte) uint64 {
	want := p.slice(at, len(got))
	if bytes.Equal(want, got) {
		return 0
	}
	bad := uint64(0)
	for i := range got {
		if got[i] != want[i] {
			bad++
		}
	}
	return bad
}

// ---- CPU time of this process, seconds.

type cpuTimes struct{ user, sys float64 }

func readCPU() cpuTimes {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return cpuTimes{}
	}
	sec := func(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }
	return cpuTimes{sec(ru.Utime), sec(ru.Stime)}
}

func (a cpuTimes) minus(b cpuTimes) cpuTimes { return cpuTimes{a.user - b.user, a.sys - b.sys} }
func (a cpuTimes) total() float64            { return a.user + a.sys }

// ---- the lines

type kcpStats struct {
	DatagramsIn        uint64 `json:"datagrams_in"`
	DatagramsOut       uint64 `json:"datagrams_out"`
	SegmentsIn         uint64 `json:"segments_in"`
	SegmentsOut        uint64 `json:"segments_out"`
	Retransmits        uint64 `json:"retransmits"`
	FastRetransmits    uint64 `json:"fast_retransmits"`
	EarlyRetransmits   uint64 `json:"early_retransmits"`
	TimeoutRetransmits uint64 `json:"timeout_retransmits"`
	RepeatSegments     uint64 `json:"repeat_segments"`
	FECRecovered       uint64 `json:"fec_recovered"`
	SendDropped        uint64 `json:"send_dropped"` // Go's socket writes wait instead
	SRTT               int32  `json:"srtt_ms"`
	RTO                uint32 `json:"rto_ms"`
}

func statsOf(s *kcp.UDPSession) kcpStats {
	m := kcp.DefaultSnmp.Copy()
	return kcpStats{
		DatagramsIn: m.InPkts, DatagramsOut: m.OutPkts, SegmentsIn: m.InSegs,
		SegmentsOut: m.OutSegs, Retransmits: m.RetransSegs, FastRetransmits: m.FastRetransSegs,
		EarlyRetransmits: m.EarlyRetransSegs, TimeoutRetransmits: m.LostSegs,
		RepeatSegments: m.RepeatSegs, FECRecovered: m.FECRecovered,
		SRTT: s.GetSRTT(), RTO: s.GetRTO(),
	}
}

type clientLine struct {
	Tool             string     `json:"tool"`
	Role             string     `json:"role"`
	Impl             string     `json:"impl"`
	Bytes            int64      `json:"bytes"`
	Seconds          float64    `json:"seconds"`
	MBPerS           float64    `json:"mb_per_s"`
	CPU              float64    `json:"cpu_s"`
	CPUUser          float64    `json:"cpu_user_s"`
	CPUSys           float64    `json:"cpu_sys_s"`
	CPUPerMB         float64    `json:"cpu_s_per_mb"`
	ServerBytes      uint64     `json:"server_bytes"`
	ServerMismatches uint64     `json:"server_mismatches"`
	Chunk            int        `json:"chunk"`
	Params           linkParams `json:"params"`
	KCP              kcpStats   `json:"kcp"`
	OK               bool       `json:"ok"`
	Error            string     `json:"error"`
}

type serverLine struct {
	Tool       string     `json:"tool"`
	Role       string     `json:"role"`
	Impl       string     `json:"impl"`
	Conv       uint32     `json:"conv"`
	Bytes      uint64     `json:"bytes"`
	Expected   uint64     `json:"expected"`
	Mismatches uint64     `json:"mismatches"`
	Seconds    float64    `json:"seconds"`
	CPU        float64    `json:"cpu_s"`
	CPUUser    float64    `json:"cpu_user_s"`
	CPUSys     float64    `json:"cpu_sys_s"`
	CPUPerMB   float64    `json:"cpu_s_per_mb"`
	Params     linkParams `json:"params"`
	KCP        kcpStats   `json:"kcp"`
	OK         bool       `json:"ok"`
	Error      string     `json:"error"`
}

var stdoutMu sync.Mutex

// printLine writes one JSON line with one write call.
func printLine(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf(`{"ok":false,"error":%q}`, err.Error()))
	}
	stdoutMu.Lock()
	os.Stdout.Write(append(b, '\n'))
	stdoutMu.Unlock()
}

func implName() string { return "kcp-go " + runtime.Version() }

// ---- client

// transfer sends the header and the payload, then reads the reply.
func transfer(conn *kcp.UDPSession, n int64, chunk int, line *clientLine) error {
	var header [headerSize]byte
	binary.LittleEndian.PutUint64(header[:], uint64(n))
	if _, err := conn.Write(header[:]); err != nil {
		return fmt.Errorf("writing the header: %v", err)
	}
	pat := newPattern(chunk)
	for at := int64(0); at < n; {
		k := int64(chunk)
		if n-at < k {
			k = n - at
		}
		w, err := conn.Write(pat.slice(uint64(at), int(k)))
		if err != nil {
			return fmt.Errorf("write at byte %d: %v", at, err)
		}
		at += int64(w)
	}
	var reply [replySize]byte
	if _, err := io.ReadFull(conn, reply[:]); err != nil {
		return fmt.Errorf("reading the reply: %v", err)
	}
	line.ServerBytes = binary.LittleEndian.Uint64(reply[:8])
	line.ServerMismatches = binary.LittleEndian.Uint64(reply[8:])
	return nil
}

func runClient(args []string) int {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	connect := fs.String("connect", "", "HOST:PORT of the server (or of a relay)")
	n := fs.Int64("bytes", 64<<20, "payload bytes")
	chunk := fs.Int("chunk", 32*1024, "bytes per write call")
	timeout := fs.Float64("timeout", 600, "seconds before the run fails")
	var p linkParams
	addLinkFlags(fs, &p)
	if err := fs.Parse(args); err != nil {
		return usage(err)
	}
	if err := finishLink(&p, true); err != nil {
		return usage(err)
	}
	if *connect == "" || *n < 1 || *chunk < 1 || *chunk > 16<<20 || *timeout <= 0 {
		return usage(fmt.Errorf("--connect is required; --bytes >= 1, --chunk 1..16 MiB, --timeout > 0"))
	}
	line := clientLine{Tool: "kcpbench", Role: "client", Impl: implName(), Bytes: *n,
		Chunk: *chunk, Params: p}
	err := dialAndTransfer(*connect, &p, *n, *chunk, *timeout, &line)
	if err == nil && (line.ServerBytes != uint64(*n) || line.ServerMismatches != 0) {
		err = fmt.Errorf("the server counted %d bytes, %d not matching the pattern",
			line.ServerBytes, line.ServerMismatches)
	}
	mb := float64(*n) / 1e6
	if line.Seconds > 0 {
		line.MBPerS = mb / line.Seconds
	}
	line.CPUPerMB = line.CPU / mb
	line.OK = err == nil
	if err != nil {
		line.Error = err.Error()
	}
	printLine(&line)
	if !line.OK {
		return 1
	}
	return 0
}

// dialAndTransfer times transfer from the first byte written to the reply read.
func dialAndTransfer(connect string, p *linkParams, n int64, chunk int, timeout float64, line *clientLine) error {
	block, err := p.blockCrypt()
	if err != nil {
		return err
	}
	conn, err := kcp.DialWithOptions(connect, block, p.DataShard, p.ParityShard)
	if err != nil {
		return fmt.Errorf("connect: %v", err)
	}
	defer conn.Close()
	p.tune(conn)
	conn.SetReadBuffer(p.SockBuf)
	conn.SetWriteBuffer(p.SockBuf)
	conn.SetDeadline(time.Now().Add(time.Duration(timeout * float64(time.Second))))
	cpu0 := readCPU()
	t0 := time.Now()
	err = transfer(conn, n, chunk, line)
	line.Seconds = time.Since(t0).Seconds()
	cpu := readCPU().minus(cpu0)
	line.CPU, line.CPUUser, line.CPUSys = cpu.total(), cpu.user, cpu.sys
	line.KCP = statsOf(conn)
	return err
}

// ---- server

// receiveAll reads the header and as many payload bytes as it announces, checking them.
func receiveAll(conn *kcp.UDPSession, line *serverLine) error {
	var header [headerSize]byte
	if _, err := io.ReadFull(conn, header[:]); err != nil {
		return fmt.Errorf("reading the header: %v", err)
	}
	line.Expected = binary.LittleEndian.Uint64(header[:])
	pat := newPattern(readSize)
	buf := make([]byte, readSize)
	for line.Bytes < line.Expected {
		want := uint64(readSize)
		if line.Expected-line.Bytes < want {
			want = line.Expected - line.Bytes
		}
		k, err := conn.Read(buf[:want])
		line.Mismatches += pat.mismatches(line.Bytes, buf[:k])
		line.Bytes += uint64(k)
		if err != nil {
			return fmt.Errorf("read after %d of %d bytes: %v", line.Bytes, line.Expected, err)
		}
	}
	return nil
}

// sink serves one conversation: from its accept to the reply, timed and with the process's CPU
// time (one conversation at a time in a bench run, so the process's time is the
// conversation's), then kept for linger so KCP can resend a lost reply.
func sink(conn *kcp.UDPSession, p linkParams, linger time.Duration) {
	cpu0 := readCPU()
	t0 := time.Now()
	line := serverLine{Tool: "kcpbench", Role: "server", Impl: implName(), Conv: conn.GetConv(),
		Params: p}
	err := receiveAll(conn, &line)
	if err == nil {
		var reply [replySize]byte
		binary.LittleEndian.PutUint64(reply[:8], line.Bytes)
		binary.LittleEndian.PutUint64(reply[8:], line.Mismatches)
		if _, werr := conn.Write(reply[:]); werr != nil {
			err = fmt.Errorf("writing the reply: %v", werr)
		}
	}
	line.Seconds = time.Since(t0).Seconds()
	cpu := readCPU().minus(cpu0)
	line.CPU, line.CPUUser, line.CPUSys = cpu.total(), cpu.user, cpu.sys
	if mb := float64(line.Bytes) / 1e6; mb > 0 {
		line.CPUPerMB = line.CPU / mb
	}
	line.KCP = statsOf(conn)
	line.OK = err == nil && line.Mismatches == 0
	if err != nil {
		line.Error = err.Error()
	}
	printLine(&line)
	if err == nil {
		time.Sleep(linger)
	}
	conn.Close()
}

func runServer(args []string) int {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	listen := fs.String("listen", "", "HOST:PORT to bind (port 0: the kernel picks)")
	linger := fs.Float64("linger", 10, "seconds a conversation is kept after its reply")
	var p linkParams
	addLinkFlags(fs, &p)
	if err := fs.Parse(args); err != nil {
		return usage(err)
	}
	if err := finishLink(&p, false); err != nil {
		return usage(err)
	}
	if *listen == "" || *linger < 0 {
		return usage(fmt.Errorf("--listen is required; --linger must not be negative"))
	}
	block, _ := p.blockCrypt()
	l, err := kcp.ListenWithOptions(*listen, block, p.DataShard, p.ParityShard)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kcpbench server: %v\n", err)
		return 1
	}
	l.SetReadBuffer(p.SockBuf)
	l.SetWriteBuffer(p.SockBuf)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM, syscall.SIGINT)
	printLine(&struct {
		Listening string `json:"listening"`
		PID       int    `json:"pid"`
	}{l.Addr().String(), os.Getpid()})
	go func() {
		for {
			conn, err := l.AcceptKCP()
			if err != nil {
				return
			}
			p.tune(conn)
			go sink(conn, p, time.Duration(*linger*float64(time.Second)))
		}
	}()
	<-term
	l.Close()
	return 0
}

func usage(err error) int {
	if err == flag.ErrHelp {
		return 0
	}
	fmt.Fprintf(os.Stderr, "kcpbench: %v\n", err)
	return 2
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kcpbench server|client [flags] (-h for the flags)")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		os.Exit(runServer(os.Args[2:]))
	case "client":
		os.Exit(runClient(os.Args[2:]))
	}
	fmt.Fprintln(os.Stderr, "kcpbench: the first argument is server or client")
	os.Exit(2)
}
