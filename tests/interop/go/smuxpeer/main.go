// smuxpeer: the Go side of the smux interoperability tests, built on github.com/xtaci/smux.
//
//	smuxpeer server --listen 127.0.0.1:0 [config flags]
//	    serves every stream with the per-stream command protocol (see tests/interop/README.md);
//	    prints exactly one line {"listening":"HOST:PORT","pid":N} on stdout, logs on stderr.
//	smuxpeer client --connect HOST:PORT --scenario NAME [scenario flags] [config flags]
//	    runs one scenario against a server speaking the same protocol, prints one JSON
//	    result line on stdout and exits 0 (passed) or 1 (failed).
//
// Config flags (every field of smux.Config): --version, --keepalive-interval MS,
// --keepalive-timeout MS, --no-keepalive, --max-frame-size, --max-receive-buffer,
// --max-stream-buffer.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/xtaci/smux"
)

// configFlags mirrors smux.Config; the defaults are smux.DefaultConfig().
type configFlags struct {
	version          int
	keepAliveMs      int
	keepAliveTimeout int
	noKeepAlive      bool
	maxFrameSize     int
	maxReceiveBuffer int
	maxStreamBuffer  int
}

func (c *configFlags) register(fs *flag.FlagSet) {
	d := smux.DefaultConfig()
	fs.IntVar(&c.version, "version", d.Version, "smux protocol version (1 or 2)")
	fs.IntVar(&c.keepAliveMs, "keepalive-interval", int(d.KeepAliveInterval/time.Millisecond),
		"NOP interval, ms")
	fs.IntVar(&c.keepAliveTimeout, "keepalive-timeout", int(d.KeepAliveTimeout/time.Millisecond),
		"session timeout without frames, ms")
	fs.BoolVar(&c.noKeepAlive, "no-keepalive", false, "send no NOP and never time out")
	fs.IntVar(&c.maxFrameSize, "max-frame-size", d.MaxFrameSize, "largest PSH payload sent")
	fs.IntVar(&c.maxReceiveBuffer, "max-receive-buffer", d.MaxReceiveBuffer,
		"session receive buffer, bytes")
	fs.IntVar(&c.maxStreamBuffer, "max-stream-buffer", d.MaxStreamBuffer,
		"v2 per-stream window, bytes")
}

func (c *configFlags) build() (*smux.Config, error) {
	cfg := smux.DefaultConfig()
	cfg.Version = c.version
	cfg.KeepAliveDisabled = c.noKeepAlive
	cfg.KeepAliveInterval = time.Duration(c.keepAliveMs) * time.Millisecond
	cfg.KeepAliveTimeout = time.Duration(c.keepAliveTimeout) * time.Millisecond
	cfg.MaxFrameSize = c.maxFrameSize
	cfg.MaxReceiveBuffer = c.maxReceiveBuffer
	cfg.MaxStreamBuffer = c.maxStreamBuffer
	if err := smux.VerifyConfig(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: smuxpeer server --listen HOST:PORT [flags]")
	fmt.Fprintln(os.Stderr, "       smuxpeer client --connect HOST:PORT --scenario NAME [flags]")
	fmt.Fprintln(os.Stderr, "       smuxpeer (server|client) -h   for the flags")
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	switch os.Args[1] {
	case "server":
		os.Exit(runServer(os.Args[2:]))
	case "client":
		os.Exit(runClient(os.Args[2:]))
	default:
		usage()
		os.Exit(2)
	}
}
