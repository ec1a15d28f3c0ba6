package main

// --tls, beyond the contract: every TCP connection carries TLS, set up as the C++ tool does
// (tools/smux-bench/tls.hpp) so that both measure the same cipher: TLS 1.3, whose suite Go
// picks by itself (TLS_AES_128_GCM_SHA256 first on CPUs with AES instructions, the only one
// the C++ tool offers), an ECDSA P-256 certificate made at start, no session tickets, no
// certificate check by the client (the bench measures the transport, not the trust).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"time"
)

// selfSigned makes a new key and a self-signed certificate for it, valid from one hour ago
// (peers whose clocks differ a little still agree) for 30 days.
func selfSigned() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	template := x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "smuxbench"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

func serverTLSConfig() (*tls.Config, error) {
	cert, err := selfSigned()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS13,
		// A client that closes without reading tickets would make the kernel answer with a
		// reset; the C++ server sends none either.
		SessionTicketsDisabled: true,
	}, nil
}

func clientTLSConfig() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
}

// dialTLS connects and completes the client's handshake, within timeout when it is not zero
// (measured paths carry no timer).
func dialTLS(addr string, cfg *tls.Config, timeout time.Duration) (net.Conn, error) {
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", addr, cfg)
}
