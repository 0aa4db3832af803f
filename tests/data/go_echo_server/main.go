// A TCP echo server (or, with -connect, a client) in Go, for the tests of `tcpka inspect`
// and `tcpka enforce`: a program nobody on the team wrote in C++. It is built with
// CGO_ENABLED=0, so it is a static binary that makes its system calls itself, without
// libc: `tcpka exec`'s LD_PRELOAD cannot reach it. Keepalive is disabled on its
// connections by default (-keepalive -1s), so that inspect flags them.
//
//	go_echo_server [-listen ADDR] [-keepalive DURATION]
//	go_echo_server -connect ADDR [-keepalive DURATION]
//
// -keepalive: negative disables keepalive, 0 is Go's default (15 s), a positive value is
// the period (Go sets both the idle time and the interval to it).
//
// Its stdout has one line: `listening on HOST:PORT` (the real port; IPv6 hosts in
// brackets) or `connected LOCAL -> REMOTE`. Errors go to stderr, with exit code 1.
// SIGTERM and SIGINT end it with exit code 0; so does EOF on the -connect connection.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "go_echo_server: "+format+"\n", args...)
	os.Exit(1)
}

// say writes the one line of stdout (unbuffered in Go: no flush needed).
func say(format string, args ...any) {
	if _, err := fmt.Fprintf(os.Stdout, format+"\n", args...); err != nil {
		fail("writing to stdout: %v", err)
	}
}

func echo(conn net.Conn) {
	defer conn.Close()
	io.Copy(conn, conn) // until EOF, or ETIMEDOUT, ECONNRESET: the peer is gone
}

func listen(addr string, keepalive time.Duration) {
	config := net.ListenConfig{KeepAlive: keepalive}
	listener, err := config.Listen(context.Background(), "tcp", addr)
	if err != nil {
		fail("%v", err)
	}
	say("listening on %s", listener.Addr())
	for {
		conn, err := listener.Accept()
		if err != nil {
			fail("%v", err)
		}
		go echo(conn)
	}
}

func connect(addr string, keepalive time.Duration) {
	dialer := net.Dialer{KeepAlive: keepalive}
	conn, err := dialer.Dial("tcp", addr)
	if err != nil {
		fail("%v", err)
	}
	say("connected %s -> %s", conn.LocalAddr(), conn.RemoteAddr())
	if _, err := io.WriteString(conn, "hello from go_echo_server\n"); err != nil {
		fail("%v", err)
	}
	if _, err := io.Copy(io.Discard, conn); err != nil {
		fail("%v", err)
	}
	os.Exit(0)
}

func main() {
	flags := flag.NewFlagSet("go_echo_server", flag.ContinueOnError)
	listenAddr := flags.String("listen", "127.0.0.1:0", "address to listen on")
	keepalive := flags.Duration("keepalive", -time.Second,
		"keepalive period: negative disables it, 0 is Go's default (15s)")
	connectAddr := flags.String("connect", "", "dial this address instead of listening")
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(1) // the flag package has printed the error and the usage to stderr
	}
	if flags.NArg() != 0 {
		fail("unexpected argument %q", flags.Arg(0))
	}
	listenSet := false
	flags.Visit(func(f *flag.Flag) { listenSet = listenSet || f.Name == "listen" })
	if listenSet && *connectAddr != "" {
		fail("-listen and -connect exclude each other")
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		os.Exit(0)
	}()

	if *connectAddr != "" {
		connect(*connectAddr, *keepalive)
	} else {
		listen(*listenAddr, *keepalive)
	}
}
