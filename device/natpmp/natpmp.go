// Package natpmp asks a home router for a TCP port mapping and its
// external address with NAT-PMP (RFC 6886): two UDP messages to the
// router's port 5351, retried with the RFC's doubling timeout. It is the
// small protocol that miniupnpd (OpenWrt and most Linux-based routers) and
// Apple routers speak besides or instead of UPnP-IGD.
//
// The caller names the router: Gateway reads the default route's gateway
// from /proc/net/route on Linux. Nothing here listens for the router's
// announcements; a mapping is renewed by asking again before its lifetime
// ends.
package natpmp

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

// Port is the router's NAT-PMP port.
const Port = 5351

// ResultError is a router's refusal (result code, RFC 6886 3.5).
type ResultError struct{ Code uint16 }

func (e *ResultError) Error() string {
	msg := map[uint16]string{1: "unsupported version", 2: "not authorized (the router refuses mappings)",
		3: "network failure (the router has no external address)", 4: "out of resources", 5: "unsupported opcode"}[e.Code]
	if msg == "" {
		msg = "result " + strconv.Itoa(int(e.Code))
	}
	return "natpmp: " + msg
}

// ErrNoAnswer means the router did not answer: it does not speak NAT-PMP
// (or it is off).
var ErrNoAnswer = errors.New("natpmp: no answer from the router")

// Client talks to one router. The zero value is not usable: set Gateway.
type Client struct {
	// Gateway is the router's address; its port is 5351 unless set (tests).
	Gateway netip.AddrPort
	// Tries bounds the retransmissions (RFC: 9, from 250 ms doubling, about
	// 64 s in all); 0 means 4 (about 4 s), enough for a router on the LAN.
	Tries int
}

// Mapping is a port mapping the router made.
type Mapping struct {
	Internal, External uint16
	Lifetime           time.Duration
}

// ExternalAddress asks the router for its public IPv4 address.
func (c *Client) ExternalAddress(ctx context.Context) (netip.Addr, error) {
	resp, err := c.exchange(ctx, []byte{0, 0}, 12, 128)
	if err != nil {
		return netip.Addr{}, err
	}
	return netip.AddrFrom4([4]byte(resp[8:12])), nil
}

// MapTCP asks for TCP port internal of this host to be reachable at
// external (a wish: the router may pick another) for lifetime. A lifetime
// of 0 deletes the mapping.
func (c *Client) MapTCP(ctx context.Context, internal, external uint16, lifetime time.Duration) (Mapping, error) {
	req := make([]byte, 12)
	req[1] = 2 // map TCP
	binary.BigEndian.PutUint16(req[4:], internal)
	binary.BigEndian.PutUint16(req[6:], external)
	binary.BigEndian.PutUint32(req[8:], uint32(lifetime/time.Second))
	resp, err := c.exchange(ctx, req, 16, 130)
	if err != nil {
		return Mapping{}, err
	}
	m := Mapping{
		Internal: binary.BigEndian.Uint16(resp[8:]),
		External: binary.BigEndian.Uint16(resp[10:]),
		Lifetime: time.Duration(binary.BigEndian.Uint32(resp[12:])) * time.Second,
	}
	if m.Internal != internal {
		return Mapping{}, fmt.Errorf("natpmp: answer for port %d, asked %d", m.Internal, internal)
	}
	return m, nil
}

// exchange sends req until an answer of n bytes with opcode op comes from
// the gateway, and checks its result code.
func (c *Client) exchange(ctx context.Context, req []byte, n int, op byte) ([]byte, error) {
	gw := c.Gateway
	if !gw.IsValid() {
		return nil, errors.New("natpmp: no gateway")
	}
	if gw.Port() == 0 {
		gw = netip.AddrPortFrom(gw.Addr(), Port)
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(gw))
	if err != nil {
		return nil, fmt.Errorf("natpmp: %w", err)
	}
	defer conn.Close()
	tries := c.Tries
	if tries <= 0 {
		tries = 4
	}
	wait := 250 * time.Millisecond
	buf := make([]byte, 64)
	for range tries {
		if _, err := conn.Write(req); err != nil {
			return nil, fmt.Errorf("natpmp: %w", err)
		}
		deadline := time.Now().Add(wait)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		conn.SetReadDeadline(deadline)
		for {
			k, err := conn.Read(buf) // a connected socket: only the gateway's datagrams
			if err != nil {
				break // timeout (or ICMP refused): send again
			}
			if k < n || buf[0] != 0 || buf[1] != op {
				continue
			}
			if code := binary.BigEndian.Uint16(buf[2:]); code != 0 {
				return nil, &ResultError{Code: code}
			}
			return buf[:n], nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		wait *= 2
	}
	return nil, ErrNoAnswer
}

// Gateway returns the IPv4 gateway of the default route (Linux:
// /proc/net/route).
func Gateway() (netip.Addr, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return netip.Addr{}, fmt.Errorf("natpmp: default gateway: %w", err)
	}
	defer f.Close()
	return parseRoutes(f)
}

func parseRoutes(f interface{ Read([]byte) (int, error) }) (netip.Addr, error) {
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		// Iface Destination Gateway Flags …, addresses in hex.
		if len(fs) < 4 || fs[1] != "00000000" {
			continue
		}
		g, err := strconv.ParseUint(fs[2], 16, 32)
		flags, err2 := strconv.ParseUint(fs[3], 16, 16)
		if err != nil || err2 != nil || g == 0 || flags&0x3 != 0x3 { // RTF_UP|RTF_GATEWAY
			continue
		}
		var b [4]byte
		binary.NativeEndian.PutUint32(b[:], uint32(g)) // the kernel prints the network-order word as a host integer
		return netip.AddrFrom4(b), nil
	}
	return netip.Addr{}, errors.New("natpmp: no default gateway")
}
