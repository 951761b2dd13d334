package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// conn is a keep-alive HTTP/1.1 connection that sends one prepared request
// over and over and reads just enough of each answer to find its end. Go's
// http.Client costs as much CPU per request as a small server handler, and
// on the server's own cores that would measure the client, not tokensvc.
type conn struct {
	addr string
	c    net.Conn
	r    *bufio.Reader
}

func (c *conn) roundTrip(req []byte, keepBody bool) (status int, body []byte, err error) {
	if c.c == nil {
		if c.c, err = net.DialTimeout("tcp", c.addr, 5*time.Second); err != nil {
			return 0, nil, err
		}
		c.r = bufio.NewReaderSize(c.c, 16<<10)
	}
	c.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.c.Write(req); err != nil {
		c.close()
		return 0, nil, err
	}
	tp := textproto.NewReader(c.r)
	line, err := tp.ReadLine()
	if err != nil {
		c.close()
		return 0, nil, err
	}
	if _, rest, ok := strings.Cut(line, " "); ok && len(rest) >= 3 {
		status, _ = strconv.Atoi(rest[:3])
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		c.close()
		return 0, nil, err
	}
	n, err := strconv.Atoi(hdr.Get("Content-Length"))
	if err != nil {
		c.close()
		return status, nil, fmt.Errorf("answer without Content-Length (status %d)", status)
	}
	if keepBody {
		body = make([]byte, n)
		_, err = io.ReadFull(c.r, body)
	} else {
		_, err = c.r.Discard(n)
	}
	if err != nil || strings.EqualFold(hdr.Get("Connection"), "close") {
		c.close()
	}
	return status, body, err
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c = nil
	}
}

// buildRequest renders an HTTP/1.1 request once, to be sent many times.
func buildRequest(method, host, path string, headers map[string]string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host)
	for k, v := range headers {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	return b.Bytes()
}
