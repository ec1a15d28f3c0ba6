// Pieces shared by the server and the client: the deterministic payload generator, digests,
// the command line of a stream, and a connection that can be made to go silent.

package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
)

// generator produces the deterministic pseudo-random byte stream of a seed: the outputs of
// SplitMix64 (state += 0x9E3779B97F4A7C15, then the usual finaliser), each written as 8
// little-endian bytes. The C++ side implements the same sequence (interop_payload.cpp).
type generator struct {
	state uint64
	buf   [8]byte
	have  int // unread bytes left in buf (taken from its end)
}

func newGenerator(seed uint64) *generator { return &generator{state: seed} }

func (g *generator) next() uint64 {
	g.state += 0x9E3779B97F4A7C15
	z := g.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// Read fills p with the next len(p) bytes of the sequence; it never fails.
func (g *generator) Read(p []byte) (int, error) {
	i := 0
	for i < len(p) {
		if g.have == 0 {
			if len(p)-i >= 8 {
				binary.LittleEndian.PutUint64(p[i:], g.next())
				i += 8
				continue
			}
			binary.LittleEndian.PutUint64(g.buf[:], g.next())
			g.have = 8
		}
		p[i] = g.buf[8-g.have]
		g.have--
		i++
	}
	return len(p), nil
}

// bytes returns the next n bytes of the sequence.
func (g *generator) bytes(n int) []byte {
	b := make([]byte, n)
	g.Read(b)
	return b
}

// digest counts and hashes bytes: the checksum of every transfer is its length and SHA-256.
type digest struct {
	n int64
	h hash.Hash
}

func newDigest() *digest { return &digest{h: sha256.New()} }

func (d *digest) Write(p []byte) (int, error) {
	d.n += int64(len(p))
	return d.h.Write(p)
}

func (d *digest) hex() string { return hex.EncodeToString(d.h.Sum(nil)) }

// line is the reply of sink, slow and halfclose: "LEN SHA256HEX\n".
func (d *digest) line() string { return fmt.Sprintf("%d %s\n", d.n, d.hex()) }

// expectedDigest is the digest of the first n bytes of the sequence of seed.
func expectedDigest(n int64, seed uint64) *digest {
	d := newDigest()
	if _, err := io.CopyN(d, newGenerator(seed), n); err != nil {
		panic(err)
	}
	return d
}

// parseDigestLine parses "LEN SHA256HEX".
func parseDigestLine(s string) (int64, string, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, "", fmt.Errorf("bad digest line %q", s)
	}
	n, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("bad digest line %q", s)
	}
	return n, f[1], nil
}

// readLine reads one '\n'-terminated line (without the '\n'), at most 4096 bytes.
func readLine(r *bufio.Reader) (string, error) {
	var sb strings.Builder
	for sb.Len() <= 4096 {
		b, err := r.ReadByte()
		if err != nil {
			return sb.String(), err
		}
		if b == '\n' {
			return sb.String(), nil
		}
		sb.WriteByte(b)
	}
	return sb.String(), errors.New("command line too long")
}

// parseSizes parses "1,32767,32768".
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad size %q", f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errors.New("empty size list")
	}
	return out, nil
}

func joinSizes(sizes []int) string {
	parts := make([]string, len(sizes))
	for i, n := range sizes {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

// freezeConn is a connection that can go silent: while frozen, Read and Write block before
// touching the socket, so the peer sees neither frames nor reads (its data stays in the
// kernel buffers). A Read already inside the socket when freezing completes once.
type freezeConn struct {
	net.Conn
	mu   sync.Mutex
	gate chan struct{} // non-nil while frozen; closed when thawed
}

func newFreezeConn(c net.Conn) *freezeConn { return &freezeConn{Conn: c} }

func (c *freezeConn) wait() {
	c.mu.Lock()
	g := c.gate
	c.mu.Unlock()
	if g != nil {
		<-g
	}
}

func (c *freezeConn) Read(p []byte) (int, error) {
	c.wait()
	return c.Conn.Read(p)
}

func (c *freezeConn) Write(p []byte) (int, error) {
	c.wait()
	return c.Conn.Write(p)
}

func (c *freezeConn) freeze() {
	c.mu.Lock()
	if c.gate == nil {
		c.gate = make(chan struct{})
	}
	c.mu.Unlock()
}

func (c *freezeConn) thaw() {
	c.mu.Lock()
	if c.gate != nil {
		close(c.gate)
		c.gate = nil
	}
	c.mu.Unlock()
}

func (c *freezeConn) Close() error {
	c.thaw()
	return c.Conn.Close()
}
