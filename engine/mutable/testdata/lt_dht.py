# BEP 44 interop with libtorrent (Debian's python3-libtorrent), used by
# interop_test.go. Only talks to the DHT node BOOT (loopback).
# usage: lt_dht.py get BOOT PUBHEX SALT     -> {"seq", "ih", "sig", "auth"}
#        lt_dht.py put BOOT SEEDHEX PUBHEX SALT DATA  (a string value)
import binascii, hashlib, json, re, sys, time
import libtorrent as lt

mode, boot = sys.argv[1], sys.argv[2]
host, port = boot.rsplit(':', 1)
s = lt.session({
    'listen_interfaces': '127.0.0.1:0', 'enable_dht': True, 'dht_bootstrap_nodes': boot,
    'enable_lsd': False, 'enable_upnp': False, 'enable_natpmp': False,
    'dht_restrict_routing_ips': False, 'dht_restrict_search_ips': False,
    'dht_ignore_dark_internet': False, 'dht_enforce_node_id': False,
    'alert_mask': lt.alert.category_t.dht_notification | lt.alert.category_t.error_notification,
})
s.add_dht_node((host, int(port)))
time.sleep(1)
deadline = time.time() + 15
if mode == 'get':
    pub, salt = binascii.unhexlify(sys.argv[3]), sys.argv[4].encode()
    s.dht_get_mutable_item(pub, salt)
    best = None
    while time.time() < deadline:
        s.wait_for_alert(500)
        for a in s.pop_alerts():
            if isinstance(a, lt.dht_mutable_item_alert):
                # The bindings cannot turn an entry holding binary strings
                # into Python ("invalid type requested from entry"); the
                # alert's message prints a BEP 46 infohash as hex.
                m = re.search(r"'ih': '([0-9a-f]{40})'", a.message())
                best = {'seq': a.seq, 'ih': m.group(1) if m else '', 'sig': bytes(a.signature).hex(), 'auth': a.authoritative}
                if a.authoritative:
                    print(json.dumps(best)); sys.exit(0)
    print(json.dumps(best)); sys.exit(0 if best else 1)
else:
    seed, pub, salt, data = binascii.unhexlify(sys.argv[3]), binascii.unhexlify(sys.argv[4]), sys.argv[5].encode(), sys.argv[6].encode()
    h = bytearray(hashlib.sha512(seed).digest())  # ref10 expanded secret key
    h[0] &= 248; h[31] &= 63; h[31] |= 64
    s.dht_put_mutable_item(bytes(h), pub, data, salt)
    while time.time() < deadline:
        s.wait_for_alert(500)
        for a in s.pop_alerts():
            if isinstance(a, lt.dht_put_alert):
                print(json.dumps({'success': a.num_success, 'seq': a.seq})); sys.exit(0 if a.num_success > 0 else 1)
    sys.exit(1)
