// Package upnpigd asks a home router for a TCP port mapping and its
// external address with UPnP-IGD: an SSDP search sent to the router
// itself (unicast M-SEARCH, UPnP 1.1), its device description fetched
// over HTTP, then the SOAP actions AddPortMapping, DeletePortMapping and
// GetExternalIPAddress of its WANIPConnection (or WANPPPConnection)
// service. Only the router's own address is ever contacted: a
// description that points elsewhere is refused. Standard library only.
package upnpigd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ErrNoIGD means the router did not answer the search: it does not speak
// UPnP-IGD (or has it off).
var ErrNoIGD = errors.New("upnpigd: no answer from the router")

// SOAPError is the router's refusal of an action (UPnPError).
type SOAPError struct {
	Code        int
	Description string
}

func (e *SOAPError) Error() string {
	return fmt.Sprintf("upnpigd: %d %s", e.Code, e.Description)
}

// Client is a router's WAN connection service.
type Client struct {
	control string     // SOAP control URL
	service string     // service type (URN)
	local   netip.Addr // this host's address towards the router
	hc      *http.Client
}

var serviceTypes = []string{
	"urn:schemas-upnp-org:service:WANIPConnection:2",
	"urn:schemas-upnp-org:service:WANIPConnection:1",
	"urn:schemas-upnp-org:service:WANPPPConnection:1",
}

// Discover finds the IGD at gateway (port 1900 unless set).
func Discover(ctx context.Context, gateway netip.AddrPort) (*Client, error) {
	if gateway.Port() == 0 {
		gateway = netip.AddrPortFrom(gateway.Addr(), 1900)
	}
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(gateway))
	if err != nil {
		return nil, fmt.Errorf("upnpigd: %w", err)
	}
	defer conn.Close()
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	search := "M-SEARCH * HTTP/1.1\r\nHOST: " + gateway.String() + "\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n" +
		"ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n"
	var location string
	buf := make([]byte, 2048)
	for try := 0; try < 3 && location == ""; try++ {
		if _, err := conn.Write([]byte(search)); err != nil {
			return nil, fmt.Errorf("upnpigd: %w", err)
		}
		deadline := time.Now().Add(time.Second << try)
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		conn.SetReadDeadline(deadline)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				break
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(buf[:n])), nil)
			if err == nil && resp.StatusCode == http.StatusOK && resp.Header.Get("Location") != "" {
				location = resp.Header.Get("Location")
				break
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if location == "" {
		return nil, ErrNoIGD
	}
	loc, err := url.Parse(location)
	if err != nil || loc.Scheme != "http" {
		return nil, fmt.Errorf("upnpigd: bad description location %q", location)
	}
	if h, err := netip.ParseAddr(loc.Hostname()); err != nil || h.Unmap() != gateway.Addr().Unmap() {
		return nil, fmt.Errorf("upnpigd: description at %s, not on the router %s: refused", loc.Host, gateway.Addr())
	}
	c := &Client{local: local, hc: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return errors.New("upnpigd: redirect refused") }}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("upnpigd: description: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("upnpigd: description: %s", resp.Status)
	}
	var root struct {
		URLBase string `xml:"URLBase"`
		Device  device `xml:"device"`
	}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 256<<10)).Decode(&root); err != nil {
		return nil, fmt.Errorf("upnpigd: description: %w", err)
	}
	base := loc
	if root.URLBase != "" {
		if b, err := url.Parse(root.URLBase); err == nil && b.Host == loc.Host {
			base = b
		}
	}
	for _, typ := range serviceTypes {
		if s := root.Device.find(typ); s != nil {
			u, err := base.Parse(s.ControlURL)
			if err != nil || u.Host != loc.Host {
				return nil, fmt.Errorf("upnpigd: control URL %q not on the router: refused", s.ControlURL)
			}
			c.control, c.service = u.String(), typ
			return c, nil
		}
	}
	return nil, errors.New("upnpigd: the router has no WAN connection service")
}

type device struct {
	Services []service `xml:"serviceList>service"`
	Devices  []device  `xml:"deviceList>device"`
}

type service struct {
	Type       string `xml:"serviceType"`
	ControlURL string `xml:"controlURL"`
}

func (d *device) find(typ string) *service {
	for i := range d.Services {
		if d.Services[i].Type == typ {
			return &d.Services[i]
		}
	}
	for i := range d.Devices {
		if s := d.Devices[i].find(typ); s != nil {
			return s
		}
	}
	return nil
}

// call runs a SOAP action and returns the response's argument values.
func (c *Client) call(ctx context.Context, action string, args [][2]string) (map[string]string, error) {
	var body strings.Builder
	body.WriteString(`<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>`)
	fmt.Fprintf(&body, `<u:%s xmlns:u="%s">`, action, c.service)
	for _, a := range args {
		fmt.Fprintf(&body, "<%s>", a[0])
		xml.EscapeText(&body, []byte(a[1]))
		fmt.Fprintf(&body, "</%s>", a[0])
	}
	fmt.Fprintf(&body, `</u:%s></s:Body></s:Envelope>`, action)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.control, strings.NewReader(body.String()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", `text/xml; charset="utf-8"`)
	req.Header.Set("SOAPAction", `"`+c.service+"#"+action+`"`)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("upnpigd: %s: %w", action, err)
	}
	defer resp.Body.Close()
	// The values are the leaves of the Body's first element; a fault
	// carries UPnPError's errorCode and errorDescription the same way.
	out := map[string]string{}
	dec := xml.NewDecoder(io.LimitReader(resp.Body, 64<<10))
	var name string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("upnpigd: %s: %w", action, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name = t.Name.Local
		case xml.CharData:
			if name != "" {
				out[name] += string(t)
			}
		case xml.EndElement:
			name = ""
		}
	}
	if resp.StatusCode != http.StatusOK {
		code, _ := strconv.Atoi(strings.TrimSpace(out["errorCode"]))
		if code != 0 {
			return nil, &SOAPError{Code: code, Description: strings.TrimSpace(out["errorDescription"])}
		}
		return nil, fmt.Errorf("upnpigd: %s: %s", action, resp.Status)
	}
	return out, nil
}

// ExternalAddress asks the router for its public address.
func (c *Client) ExternalAddress(ctx context.Context) (netip.Addr, error) {
	out, err := c.call(ctx, "GetExternalIPAddress", nil)
	if err != nil {
		return netip.Addr{}, err
	}
	a, err := netip.ParseAddr(strings.TrimSpace(out["NewExternalIPAddress"]))
	if err != nil {
		return netip.Addr{}, fmt.Errorf("upnpigd: external address %q", out["NewExternalIPAddress"])
	}
	return a, nil
}

// MapTCP forwards external to this host's internal port for lifetime; a
// lifetime of 0 deletes the mapping of external. A router that only keeps
// permanent mappings (error 725) gets one, and the lifetime returned is 0:
// the caller must delete it. It returns the lifetime granted.
func (c *Client) MapTCP(ctx context.Context, internal, external uint16, lifetime time.Duration) (time.Duration, error) {
	if lifetime == 0 {
		_, err := c.call(ctx, "DeletePortMapping", [][2]string{{"NewRemoteHost", ""}, {"NewExternalPort", strconv.Itoa(int(external))}, {"NewProtocol", "TCP"}})
		return 0, err
	}
	add := func(secs int) error {
		_, err := c.call(ctx, "AddPortMapping", [][2]string{
			{"NewRemoteHost", ""}, {"NewExternalPort", strconv.Itoa(int(external))}, {"NewProtocol", "TCP"},
			{"NewInternalPort", strconv.Itoa(int(internal))}, {"NewInternalClient", c.local.String()},
			{"NewEnabled", "1"}, {"NewPortMappingDescription", "Hearth share pages"}, {"NewLeaseDuration", strconv.Itoa(secs)},
		})
		return err
	}
	err := add(int(lifetime / time.Second))
	var se *SOAPError
	if errors.As(err, &se) && se.Code == 725 { // OnlyPermanentLeasesSupported
		return 0, add(0)
	}
	if err != nil {
		return 0, err
	}
	return lifetime, nil
}
