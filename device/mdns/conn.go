package mdns

import (
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

var (
	group4 = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: 5353}
	group6 = &net.UDPAddr{IP: net.ParseIP("ff02::fb"), Port: 5353}
)

// packet is one mDNS message received on an interface we listen on.
type packet struct {
	msg   *dns.Msg
	iface string
	src   net.IP
	port  int // source port: not 5353 means a legacy unicast query
}

// conn is an IPv4 and an IPv6 mDNS socket joined on a fixed set of
// interfaces: the browser's and the advertiser's own listener (zeroconf's
// server answers queries; this one sends queries and watches answers).
type conn struct {
	v4     *ipv4.PacketConn
	v6     *ipv6.PacketConn
	ifaces []net.Interface
	byIdx  map[int]string
	done   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// listen opens the sockets on port 5353 and joins the mDNS groups on
// ifaces. It fails only when neither IPv4 nor IPv6 works on any of them.
func listen(ifaces []net.Interface) (*conn, error) {
	if len(ifaces) == 0 {
		return nil, ErrNoInterfaces
	}
	c := &conn{ifaces: ifaces, byIdx: map[int]string{}, done: make(chan struct{})}
	for _, ifi := range ifaces {
		c.byIdx[ifi.Index] = ifi.Name
	}
	var err4, err6 error
	c.v4, err4 = listen4(ifaces)
	c.v6, err6 = listen6(ifaces)
	if c.v4 == nil && c.v6 == nil {
		return nil, fmt.Errorf("join mDNS group on %v: %w", ifaceNames(ifaces), errors.Join(err4, err6))
	}
	return c, nil
}

func listen4(ifaces []net.Interface) (*ipv4.PacketConn, error) {
	// A multicast address makes Go bind the wildcard with SO_REUSEADDR,
	// so this shares port 5353 with zeroconf's server and avahi.
	uc, err := net.ListenUDP("udp4", group4)
	if err != nil {
		return nil, err
	}
	if err := onlyJoinedGroups(uc, false); err != nil {
		uc.Close()
		return nil, err
	}
	pc := ipv4.NewPacketConn(uc)
	if err := pc.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		uc.Close()
		return nil, err
	}
	_ = pc.SetMulticastTTL(255) // RFC 6762 section 11
	joined := 0
	var errs []error
	for _, ifi := range ifaces {
		if err := pc.JoinGroup(&ifi, &net.UDPAddr{IP: group4.IP}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ifi.Name, err))
			continue
		}
		joined++
	}
	if joined == 0 {
		uc.Close()
		return nil, fmt.Errorf("ipv4: %w", errors.Join(errs...))
	}
	return pc, nil
}

func listen6(ifaces []net.Interface) (*ipv6.PacketConn, error) {
	uc, err := net.ListenUDP("udp6", group6)
	if err != nil {
		return nil, err
	}
	if err := onlyJoinedGroups(uc, true); err != nil {
		uc.Close()
		return nil, err
	}
	pc := ipv6.NewPacketConn(uc)
	if err := pc.SetControlMessage(ipv6.FlagInterface, true); err != nil {
		uc.Close()
		return nil, err
	}
	_ = pc.SetMulticastHopLimit(255)
	joined := 0
	var errs []error
	for _, ifi := range ifaces {
		if err := pc.JoinGroup(&ifi, &net.UDPAddr{IP: group6.IP}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ifi.Name, err))
			continue
		}
		joined++
	}
	if joined == 0 {
		uc.Close()
		return nil, fmt.Errorf("ipv6: %w", errors.Join(errs...))
	}
	return pc, nil
}

// start reads both sockets until close, handing each DNS response or
// query received on one of our interfaces to out.
func (c *conn) start(out chan<- packet) {
	if c.v4 != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.readLoop(out, func(b []byte) (int, int, net.Addr, error) {
				n, cm, src, err := c.v4.ReadFrom(b)
				idx := 0
				if cm != nil {
					idx = cm.IfIndex
				}
				return n, idx, src, err
			})
		}()
	}
	if c.v6 != nil {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.readLoop(out, func(b []byte) (int, int, net.Addr, error) {
				n, cm, src, err := c.v6.ReadFrom(b)
				idx := 0
				if cm != nil {
					idx = cm.IfIndex
				}
				return n, idx, src, err
			})
		}()
	}
}

// maxPacket is the largest mDNS message read (RFC 6762 allows 9000 bytes
// on jumbo-frame links; nothing Hearth cares about is larger).
const maxPacket = 9000

func (c *conn) readLoop(out chan<- packet, read func([]byte) (int, int, net.Addr, error)) {
	buf := make([]byte, maxPacket)
	for {
		n, idx, src, err := read(buf)
		if err != nil {
			select {
			case <-c.done:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		name, ok := c.byIdx[idx]
		if !ok {
			// Not one of ours (another process joined the group there):
			// never act on traffic from an interface we were not given.
			continue
		}
		msg := new(dns.Msg)
		if err := msg.Unpack(buf[:n]); err != nil {
			continue
		}
		var ip net.IP
		port := 0
		if ua, ok := src.(*net.UDPAddr); ok {
			ip, port = ua.IP, ua.Port
		}
		select {
		case out <- packet{msg: msg, iface: name, src: ip, port: port}:
		case <-c.done:
			return
		}
	}
}

// send multicasts m on every interface.
func (c *conn) send(m *dns.Msg) error {
	buf, err := m.Pack()
	if err != nil {
		return fmt.Errorf("pack mDNS message: %w", err)
	}
	var errs []error
	for _, ifi := range c.ifaces {
		if c.v4 != nil {
			if _, err := c.v4.WriteTo(buf, &ipv4.ControlMessage{IfIndex: ifi.Index}, group4); err != nil {
				errs = append(errs, err)
			}
		}
		if c.v6 != nil {
			if _, err := c.v6.WriteTo(buf, &ipv6.ControlMessage{IfIndex: ifi.Index}, group6); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 2*len(c.ifaces) || (len(errs) == len(c.ifaces) && (c.v4 == nil || c.v6 == nil)) {
		return fmt.Errorf("send mDNS query: %w", errors.Join(errs...))
	}
	return nil
}

// reply sends m on one interface: multicast, or unicast to dst (a legacy
// unicast query's source).
func (c *conn) reply(m *dns.Msg, iface string, dst *net.UDPAddr) error {
	buf, err := m.Pack()
	if err != nil {
		return fmt.Errorf("pack mDNS message: %w", err)
	}
	idx := 0
	for i, n := range c.byIdx {
		if n == iface {
			idx = i
		}
	}
	to4, to6 := group4, group6
	if dst != nil {
		to4, to6 = dst, dst
	}
	if c.v4 != nil && (dst == nil || dst.IP.To4() != nil) {
		if _, err := c.v4.WriteTo(buf, &ipv4.ControlMessage{IfIndex: idx}, to4); err != nil && dst != nil {
			return err
		}
	}
	if c.v6 != nil && (dst == nil || dst.IP.To4() == nil) {
		if _, err := c.v6.WriteTo(buf, &ipv6.ControlMessage{IfIndex: idx}, to6); err != nil && dst != nil {
			return err
		}
	}
	return nil
}

// close closes the sockets and waits for the readers; safe to call twice.
func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		if c.v4 != nil {
			c.v4.Close()
		}
		if c.v6 != nil {
			c.v6.Close()
		}
		c.wg.Wait()
	})
}

// question builds a multicast query (QM) for names.
func question(qtype uint16, names ...string) *dns.Msg {
	m := new(dns.Msg)
	m.RecursionDesired = false
	for _, n := range names {
		m.Question = append(m.Question, dns.Question{Name: n, Qtype: qtype, Qclass: dns.ClassINET})
	}
	return m
}
