// kcppeer: a kcp-go + smux peer for the C++ KCP transport's interop tests.
//
//	kcppeer server CRYPT DS PS        listens on 127.0.0.1:0, prints the port, echoes every
//	                                  smux stream of the first KCP session, exits when it ends
//	kcppeer client CRYPT DS PS PORT N dials 127.0.0.1:PORT, opens one smux stream, sends N
//	                                  patterned bytes, reads them back, prints "ok"
//
// The key is kcptun's derivation of its default password; CRYPT "none" or "aes" as kcptun
// names them. Stream mode, no write delay and fast3 as kcptun sets them.
package main

import (
	"crypto/sha1"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/xtaci/kcp-go"
	"github.com/xtaci/smux"
	"golang.org/x/crypto/pbkdf2"
)

func cipher(name string) kcp.BlockCrypt {
	key := pbkdf2.Key([]byte("it's a secrect"), []byte("kcp-go"), 4096, 32, sha1.New)
	var b kcp.BlockCrypt
	switch name {
	case "none":
		b, _ = kcp.NewNoneBlockCrypt(key)
	default:
		b, _ = kcp.NewAESBlockCrypt(key)
	}
	return b
}

func tune(s *kcp.UDPSession) {
	s.SetStreamMode(true)
	s.SetWriteDelay(false)
	s.SetNoDelay(1, 10, 2, 1)
	s.SetWindowSize(128, 512)
	s.SetMtu(1350)
}

func pattern(i int) byte { return byte((i*7 + (i >> 11)) & 0xff) }

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kcppeer:", err)
	os.Exit(1)
}

func server(b kcp.BlockCrypt, ds, ps int) {
	l, err := kcp.ListenWithOptions("127.0.0.1:0", b, ds, ps)
	if err != nil {
		fail(err)
	}
	fmt.Println(l.Addr().(interface{ String() string }).String())
	conn, err := l.AcceptKCP()
	if err != nil {
		fail(err)
	}
	tune(conn)
	sess, err := smux.Server(conn, smux.DefaultConfig())
	if err != nil {
		fail(err)
	}
	for {
		st, err := sess.AcceptStream()
		if err != nil {
			os.Exit(0)
		}
		go func() { io.Copy(st, st); st.Close() }()
	}
}

func client(b kcp.BlockCrypt, ds, ps int, port string, n int) {
	conn, err := kcp.DialWithOptions("127.0.0.1:"+port, b, ds, ps)
	if err != nil {
		fail(err)
	}
	tune(conn)
	sess, err := smux.Client(conn, smux.DefaultConfig())
	if err != nil {
		fail(err)
	}
	st, err := sess.OpenStream()
	if err != nil {
		fail(err)
	}
	go func() {
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = pattern(i)
		}
		if _, err := st.Write(buf); err != nil {
			fail(err)
		}
	}()
	back := make([]byte, n)
	if _, err := io.ReadFull(st, back); err != nil {
		fail(err)
	}
	for i := range back {
		if back[i] != pattern(i) {
			fail(fmt.Errorf("byte %d differs", i))
		}
	}
	fmt.Println("ok")
}

func main() {
	if len(os.Args) < 5 {
		fail(fmt.Errorf("usage: kcppeer server|client CRYPT DS PS [PORT N]"))
	}
	ds, _ := strconv.Atoi(os.Args[3])
	ps, _ := strconv.Atoi(os.Args[4])
	b := cipher(os.Args[2])
	if os.Args[1] == "server" {
		server(b, ds, ps)
		return
	}
	n, _ := strconv.Atoi(os.Args[6])
	client(b, ds, ps, os.Args[5], n)
}
