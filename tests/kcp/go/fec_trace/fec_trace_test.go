// Feeds kcp-go's own fecEncoder output, with losses, duplicates and reordering drawn from a
// fixed generator, through kcp-go's fecDecoder, and prints a digest per scenario that
// tests/kcp/fec_trace_test.cpp reproduces with smux::kcp. Run with ./run.sh (see there).
package kcp

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"
)

// traceLCG is repeated in the C++ test: x = x*1103515245 + 12345 (mod 2^32), value = x>>16.
type traceLCG struct{ x uint32 }

func (g *traceLCG) next() uint32 {
	g.x = g.x*1103515245 + 12345
	return g.x >> 16
}

func runScenario(sd, sp, rd, rp, datagrams int, seed uint32) string {
	g := traceLCG{seed}
	enc := newFECEncoder(sd, sp, 0)
	dec := newFECDecoder(rd, rp)
	sent := crc32.NewIEEE()
	got := crc32.NewIEEE()
	var steps, recovered, errs uint32
	var held []byte

	deliver := func(pkt []byte) {
		steps++
		if dec == nil { // as sess.go's kcpInput for a receiver with FEC off
			dec = newFECDecoder(1, 1)
		}
		for _, r := range dec.decode(fecPacket(pkt)) {
			if len(r) >= 2 {
				sz := binary.LittleEndian.Uint16(r)
				if int(sz) <= len(r) && sz >= 2 {
					recovered++
					var hdr [4]byte
					binary.LittleEndian.PutUint32(hdr[:], steps)
					got.Write(hdr[:])
					got.Write(r[2:sz])
					continue
				}
			}
			errs++
		}
	}
	emit := func(pkt []byte) {
		sent.Write(pkt)
		r := g.next() % 100
		switch {
		case r < 15: // lost
		case r < 20: // duplicated
			deliver(pkt)
			deliver(pkt)
		case r < 30 && held == nil: // overtaken by the next one
			held = pkt
		default:
			deliver(pkt)
			if held != nil {
				deliver(held)
				held = nil
			}
		}
	}

	for i := 0; i < datagrams; i++ {
		b := make([]byte, 8+24+int(g.next()%300))
		for k := 8; k < len(b); k++ {
			b[k] = byte(g.next())
		}
		ps := enc.encode(b)
		emit(b)
		for _, p := range ps {
			emit(append([]byte(nil), p...))
		}
	}
	return fmt.Sprintf("{%d, %d, %d, %d, %d, %du, %du, %du, %du, 0x%08xu, 0x%08xu, %d, %d, %d},",
		sd, sp, rd, rp, datagrams, seed, steps, recovered, errs, sent.Sum32(), got.Sum32(),
		len(dec.rx), dec.dataShards, dec.parityShards)
}

func TestFECTrace(t *testing.T) {
	fmt.Println(runScenario(10, 3, 10, 3, 3000, 1))
	fmt.Println(runScenario(2, 1, 2, 1, 2000, 2))
	fmt.Println(runScenario(4, 2, 10, 3, 3000, 3))
	fmt.Println(runScenario(4, 2, 0, 0, 3000, 4))
	fmt.Println(runScenario(1, 1, 1, 1, 1000, 5))
	fmt.Println(runScenario(20, 10, 20, 10, 5000, 6))
	fmt.Println(runScenario(10, 3, 3, 2, 3000, 7))
}
