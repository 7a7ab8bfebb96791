package mdns

import (
	"errors"
	"fmt"
	"net"
	"reflect"
	"unsafe"

	"github.com/grandcat/zeroconf"
)

// isolateServer confines a zeroconf v1.0.0 server registered on the one
// interface iface to that interface: SO_BINDTODEVICE and no
// IP_MULTICAST_ALL on both its sockets. zeroconf binds [::]:5353 and
// 0.0.0.0:5353 and answers every query it reads on the interface the
// query came in on, so without this a router whose avahi (or any program)
// listens for mDNS on the WAN port would have Hearth answer there,
// despite the explicit interface list. zeroconf keeps its sockets in
// unexported fields, so this reaches them through reflection; the version
// is pinned in go.mod, and TestWANQueryUnanswered fails if an update moves
// the fields.
func isolateServer(s *zeroconf.Server, iface string) error {
	v := reflect.ValueOf(s).Elem()
	var errs []error
	for _, f := range []struct {
		name string
		v6   bool
	}{{"ipv4conn", false}, {"ipv6conn", true}} {
		pc, err := unexported(v, f.name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if pc.IsNil() {
			continue // zeroconf found no interface for this family
		}
		inner, err := unexported(pc.Elem(), "PacketConn")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uc, ok := inner.Interface().(*net.UDPConn)
		if !ok {
			errs = append(errs, fmt.Errorf("zeroconf %s: socket is %T, want *net.UDPConn", f.name, inner.Interface()))
			continue
		}
		if err := bindToDevice(uc, iface); err != nil {
			errs = append(errs, fmt.Errorf("zeroconf %s: bind to %s: %w", f.name, iface, err))
		}
		if err := onlyJoinedGroups(uc, f.v6); err != nil {
			errs = append(errs, fmt.Errorf("zeroconf %s: %w", f.name, err))
		}
	}
	return errors.Join(errs...)
}

// unexported returns a usable copy of struct v's field name (v must be
// addressable).
func unexported(v reflect.Value, name string) (reflect.Value, error) {
	if v.Kind() != reflect.Struct {
		return reflect.Value{}, fmt.Errorf("zeroconf internals: %s: %v is not a struct", name, v.Type())
	}
	f := v.FieldByName(name)
	if !f.IsValid() || !f.CanAddr() {
		return reflect.Value{}, fmt.Errorf("zeroconf internals: no field %s in %v", name, v.Type())
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), nil
}
