// Prints klauspost/reedsolomon (the version kcp-go 5.6.1 uses, default matrix) parity for fixed
// inputs, as C++ initializers for tests/kcp/fec_rs_go_vectors.hpp. Rerun from this directory:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE=$(mktemp -d) go run rs_vectors.go
//
// Data shard i, byte k is the low byte of the LCG below (seeded with d, p, length), which the C++
// test reproduces; small codes print the parity bytes, large ones the CRC-32 of all of them.
package main

import (
	"encoding/hex"
	"fmt"
	"hash/crc32"

	"github.com/klauspost/reedsolomon"
)

// lcg is the generator the C++ test repeats: x = x*1103515245 + 12345 (mod 2^32), byte = x>>16.
type lcg struct{ x uint32 }

func (g *lcg) next() byte {
	g.x = g.x*1103515245 + 12345
	return byte(g.x >> 16)
}

func parity(d, p, length int) [][]byte {
	g := lcg{uint32(d*65536 + p*256 + length)}
	shards := make([][]byte, d+p)
	for i := range shards {
		shards[i] = make([]byte, length)
		if i < d {
			for k := range shards[i] {
				shards[i][k] = g.next()
			}
		}
	}
	enc, err := reedsolomon.New(d, p)
	if err != nil {
		panic(err)
	}
	if err := enc.Encode(shards); err != nil {
		panic(err)
	}
	return shards[d:]
}

func main() {
	fmt.Println("// small codes: {d, p, length, parity hex (shard after shard)}")
	for _, c := range [][3]int{{1, 1, 5}, {2, 1, 29}, {4, 2, 33}, {10, 3, 40}, {3, 7, 17}, {17, 5, 64}} {
		s := ""
		for _, ps := range parity(c[0], c[1], c[2]) {
			s += hex.EncodeToString(ps)
		}
		fmt.Printf("{%d, %d, %d, \"%s\"},\n", c[0], c[1], c[2], s)
	}
	fmt.Println("// large codes: {d, p, length, CRC-32 of the parity shards one after the other}")
	for _, c := range [][3]int{{128, 128, 100}, {200, 56, 61}, {255, 1, 1400}, {1, 255, 3}, {30, 30, 1300}} {
		h := crc32.NewIEEE()
		for _, ps := range parity(c[0], c[1], c[2]) {
			h.Write(ps)
		}
		fmt.Printf("{%d, %d, %d, 0x%08x},\n", c[0], c[1], c[2], h.Sum32())
	}
}
