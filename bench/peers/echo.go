// An echo server as a Go user writes one: net.ListenConfig with KeepAlive, a goroutine
// per connection, a read/write loop with a 4 KiB buffer. (Not io.Copy: between two TCP
// connections it splices through a pipe, two more descriptors per connection, which
// caps it near 12,900 connections under a 20,000-descriptor limit.)
// Usage: echo PORT IDLE_SECONDS
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func main() {
	port := os.Args[1]
	idle, _ := strconv.Atoi(os.Args[2])
	config := net.ListenConfig{KeepAlive: time.Duration(idle) * time.Second}
	listener, err := config.Listen(context.Background(), "tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening")
	for {
		conn, err := listener.Accept()
		if err != nil {
			continue
		}
		go serve(conn)
	}
}
