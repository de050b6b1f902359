// Package secrettest helps tests prove that no secret reaches a log: it
// spells one database in every connection-string form pgx reads a password
// from, makes a throw-away TLS certificate and key, collects log output from
// concurrent writers, and checks every line of it for secrets.
package secrettest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"
)

// Password is the password [Forms] puts in every connection string. It is
// long and odd enough that it appears in a log only if leaked.
const Password = "Pw-7c1f9e-NOT-IN-LOGS"

// Forms returns the database of rawURL (a postgres:// URL without a
// password, as pgtest gives) spelled in each form that carries [Password]
// where pgx reads it: URL userinfo, URL query parameter, keyword/value plain
// and quoted. pgtest's servers trust local connections, so each form
// connects although the password is never checked.
func Forms(tb testing.TB, rawURL string) map[string]string {
	tb.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		tb.Fatal(err)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		tb.Fatal(err)
	}
	user := u.User.Username()
	db := strings.TrimPrefix(u.Path, "/")
	withPw := *u
	withPw.User = url.UserPassword(user, Password)
	inQuery := *u
	q := inQuery.Query()
	q.Set("password", Password)
	inQuery.RawQuery = q.Encode()
	kv := "host=" + host + " port=" + port + " user=" + user + " dbname=" + db + " sslmode=disable"
	return map[string]string{
		"url userinfo":         withPw.String(),
		"url query":            inQuery.String(),
		"keyword/value":        kv + " password=" + Password,
		"keyword/value quoted": "password = '" + Password + " x\\'y' " + kv,
	}
}

// TLS writes a self-signed certificate for 127.0.0.1 and its key into a
// temporary directory and returns their paths, and the key's PEM text (the
// material that must never be logged).
func TLS(tb testing.TB) (certFile, keyFile string, keyPEM []byte) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "secrettest"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		tb.Fatal(err)
	}
	return certFile, keyFile, keyPEM
}

// Log is an io.Writer safe for the concurrent writes of a running service.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns everything written so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Check fails tb for every line of log that contains one of secrets, or 39
// consecutive base64 characters of a PEM block among them; it fails too when
// log is empty, since an empty log proves nothing.
func Check(tb testing.TB, log string, secrets ...string) {
	tb.Helper()
	if strings.TrimSpace(log) == "" {
		tb.Fatal("secrettest: no log lines to check")
	}
	var needles []string
	for _, s := range secrets {
		if s == "" {
			tb.Fatal("secrettest: empty secret")
		}
		if b, _ := pem.Decode([]byte(s)); b != nil {
			// Every 20-character chunk of the base64 body: any leaked run
			// of 39 or more characters contains one whole.
			body := base64.StdEncoding.EncodeToString(b.Bytes)
			for i := 0; i+20 <= len(body); i += 20 {
				needles = append(needles, body[i:i+20])
			}
			continue
		}
		needles = append(needles, s)
	}
	for i, line := range strings.Split(log, "\n") {
		for _, n := range needles {
			if strings.Contains(line, n) {
				tb.Errorf("log line %d carries a secret: %s", i+1, line)
			}
		}
	}
}

// ClientTLS returns transport credentials that trust the certificate in
// certFile (from [TLS]), for a client of the server started with it.
func ClientTLS(tb testing.TB, certFile string) credentials.TransportCredentials {
	tb.Helper()
	pem, err := os.ReadFile(certFile)
	if err != nil {
		tb.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		tb.Fatalf("no certificate in %s", certFile)
	}
	return credentials.NewTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
}
