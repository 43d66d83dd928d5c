//! Broken configs and the exact message each one gives: file, line, field and what is allowed.

use dlms_logger::queue::Config;

/// A valid connection and meter (lines 1-7); cases write `{HEAD}` to start with them.
const HEAD: &str = r#"[[connection]]
name = "c1"
tcp = { host = "10.0.0.5", port = 4059 }

[[meter]]
name = "m1"
connection = "c1"
"#;

/// A valid request; cases write `{REQ}` to add it.
const REQ: &str = r#"
[[request]]
name = "r1"
meters = ["m1"]
schedule = { every = "15s" }
items = [{ name = "e", obis = "1.0.1.8.0.255" }]
"#;

/// A valid key; cases write `{K}` for it.
const KEY: &str = "000102030405060708090A0B0C0D0E0F";

/// (config text, the whole expected message).
const CASES: &[(&str, &str)] = &[
    // TOML syntax.
    ("{HEAD}\n[[request]\n", "t.toml:9:11: this is not valid TOML: unclosed array table, expected `]`"),
    // Unknown fields: top level, meter, item.
    ("flavour = 1\n{HEAD}", "t.toml:1:1: flavour: unknown field; allowed fields: connection, meter, request, sink, fleet or store"),
    ("{HEAD}clinet = 1\n", "t.toml:8:1: meter \"m1\".clinet: unknown field; allowed fields: name, connection, interface, client, server, serial_number, device_name, logical, address_size, referencing, auth, security, timeout_ms, retries, enabled, han_preset, pre_established, conformance, max_pdu, release, hdlc_window, gbt or gbt_window"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [\n  { name = \"e\", obis = \"1.0.1.8.0.255\" },\n  { name = \"f\", obis = \"1.0.2.8.0.255\", atribute = 3 },\n]\n", "t.toml:15:41: request \"r1\".items[2].atribute: unknown field; allowed fields: name, obis, class, attribute, type, scale, unit, entries, since, until or enabled"),
    // Missing name.
    ("{HEAD}\n[[meter]]\nconnection = \"c1\"\n", "t.toml:9:1: meter[2].name: is required"),
    // Duplicate meter name.
    ("{HEAD}\n[[meter]]\nname = \"m1\"\nconnection = \"c1\"\n", "t.toml:10:1: meter \"m1\".name: another meter is already named \"m1\"; names must be unique"),
    // Meter → unknown connection.
    ("{HEAD}\n[[meter]]\nname = \"m2\"\nconnection = \"c2\"\n", "t.toml:11:1: meter \"m2\".connection: there is no connection named \"c2\"; use \"c1\""),
    // Request → unknown meter; empty meters.
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\", \"m9\"]\nschedule = { once = true }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n", "t.toml:11:17: request \"r1\".meters[2]: there is no meter named \"m9\"; use \"m1\""),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = []\nschedule = { once = true }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n", "t.toml:11:1: request \"r1\".meters: is empty; list at least one meter name"),
    // Items: bad OBIS, class of the wrong type, attribute 0, entries on a register, scale 0, duplicate names, no items.
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [\n  { name = \"e\", obis = \"1.0.1.8.0.255\" },\n  { name = \"f\", obis = \"1.0.x.8.0.255\" },\n]\n", "t.toml:15:17: request \"r1\".items[2].obis: invalid OBIS code \"1.0.x.8.0.255\": group C (\"x\") is not a number from 0 to 255 (expected A.B.C.D.E.F like 1.0.1.8.0.255, or A-B:C.D.E*F like 1-0:1.8.0*255, each group 0..255)"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [\n  { name = \"e\", obis = \"1.0.1.8.0.255\", class = \"register\" },\n]\n", "t.toml:14:49: request \"r1\".items[1].class: invalid type: string \"register\", expected a whole number from 0 to 65535"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [\n  { name = \"e\", obis = \"1.0.1.8.0.255\", attribute = 0 },\n]\n", "t.toml:14:41: request \"r1\".items[1].attribute: 0 is not allowed; use 1 to 127"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [\n  { name = \"e\", obis = \"1.0.1.8.0.255\", entries = 96 },\n]\n", "t.toml:14:41: request \"r1\".items[1].entries: is only for profile generic items (class 7), not class 3; remove it"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [\n  { name = \"e\", obis = \"1.0.1.8.0.255\", scale = 0.0 },\n]\n", "t.toml:14:41: request \"r1\".items[1].scale: 0 is not allowed; use a finite number other than 0"),
    // Item units: empty, a control character, too long.
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [\n  { name = \"e\", obis = \"1.0.1.8.0.255\", unit = \"\" },\n]\n", "t.toml:14:41: request \"r1\".items[1].unit: is empty; use a unit such as \"kWh\", \"MWh\" or \"m³\", or leave it out to keep the meter's unit"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [\n  { name = \"e\", obis = \"1.0.1.8.0.255\", unit = \"k\\u001BWh\" },\n]\n", "t.toml:14:41: request \"r1\".items[1].unit: contains the invisible or control character U+001B; use a unit such as \"kWh\", \"MWh\" or \"m³\""),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [\n  { name = \"e\", obis = \"1.0.1.8.0.255\", unit = \"kilowatt-hours-of-energy-imported\" },\n]\n", "t.toml:14:41: request \"r1\".items[1].unit: \"kilowatt-hours-of-energy-imported\" is longer than 24 characters; use a unit such as \"kWh\", \"MWh\" or \"m³\""),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [\n  { name = \"e\", obis = \"1.0.1.8.0.255\" },\n  { name = \"e\", obis = \"1.0.2.8.0.255\" },\n]\n", "t.toml:15:5: request \"r1\".items[2].name: another item of this request is already named \"e\"; names must be unique"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = []\n", "t.toml:13:1: request \"r1\".items: is empty; give at least one item (or steps, for an action request)"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\", type = \"double\" }]\n", "t.toml:13:48: request \"r1\".items[1].type: \"double\" is not a DLMS data type; use auto, null-data, array, structure, boolean, bit-string, double-long, double-long-unsigned, octet-string, visible-string, utf8-string, bcd, integer, long, unsigned, long-unsigned, compact-array, long64, long64-unsigned, enum, float32, float64, date-time, date, time, delta-integer, delta-long, delta-double-long, delta-unsigned, delta-long-unsigned, delta-double-long-unsigned or dont-care"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [{ name = \"p\", obis = \"1.0.99.1.0.255\", since = \"yesterday\" }]\n", "t.toml:13:49: request \"r1\".items[1].since: \"yesterday\" is not a time; write an RFC 3339 time like 2024-05-01T00:00:00Z or a duration before now like 15min, 1h or 2d (units s, min, h, d, w)"),
    // Bad schedule, bad event name.
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { every = \"fast\" }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n", "t.toml:12:12: request \"r1\".schedule: every \"fast\": write a whole number followed by ms, s, min or h, e.g. every 15s"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { hourly = true }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n", "t.toml:12:23: request \"r1\".schedule.hourly: \"hourly\" is not allowed; use once, every, at, cron or event"),
    ("{HEAD}{REQ}on_failure = \"r1 failed\"\n", "t.toml:14:1: request \"r1\".on_failure: event name \"r1 failed\": use one word of letters, digits, \"_\", \"-\" or \".\""),
    // Meter addressing and association.
    ("{HEAD}address_size = 3\n", "t.toml:8:1: meter \"m1\".address_size: 3 is not allowed; use 1, 2 or 4"),
    ("{HEAD}interface = \"hdlc\"\nclient = 200\n", "t.toml:9:1: meter \"m1\".client: 200 is not allowed; use 0 to 127 with interface = \"hdlc\""),
    ("{HEAD}interface = \"hdlc\"\naddress_size = 2\nserver = 300\n", "t.toml:10:1: meter \"m1\".server: 300 is not allowed; use 0 to 127 with address_size = 2"),
    ("{HEAD}server = 17\nserial_number = 12345678\n", "t.toml:9:1: meter \"m1\".serial_number: give server or serial_number, not both (serial_number sets the physical address)"),
    ("{HEAD}auth = { level = \"low\" }\n", "t.toml:8:1: meter \"m1\".auth.password: is required with level = \"low\""),
    ("{HEAD}auth = { level = \"high\" }\n", "t.toml:8:1: meter \"m1\".auth.secret: is required with level = \"high\""),
    ("{HEAD}security = { policy = \"authenc\" }\n", "t.toml:8:1: meter \"m1\".security.block_key: is required with policy = \"authenc\"; give 32 hex digits or { env = \"VARIABLE\" }"),
    ("{HEAD}timeout_ms = 0\n", "t.toml:8:1: meter \"m1\".timeout_ms: 0 is not allowed; use 1 to 600000"),
    ("{HEAD}retries = 11\n", "t.toml:8:1: meter \"m1\".retries: 11 is not allowed; use 0 to 10"),
    // Connections.
    ("[[connection]]\nname = \"c1\"\nserial = { port = \"/dev/ttyUSB0\", frame_gap_ms = 20000 }\n", "t.toml:3:35: connection \"c1\".serial.frame_gap_ms: 20000 is not allowed; use 0 to 10000"),
    ("[[connection]]\nname = \"c1\"\nserial = { port = \"/dev/ttyUSB0\", baud = 9601 }\n", "t.toml:3:35: connection \"c1\".serial.baud: 9601 is not allowed; use 300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000 or 3000000"),
    ("[[connection]]\nname = \"c1\"\nserial = { port = \"/dev/ttyUSB0\", parity = \"maybe\" }\n", "t.toml:3:35: connection \"c1\".serial.parity: \"maybe\" is not allowed; use none, even or odd"),
    ("[[connection]]\nname = \"c1\"\ntcp = { host = \"h\", port = 0 }\n", "t.toml:3:21: connection \"c1\".tcp.port: 0 is not allowed; use 1 to 65535"),
    ("[[connection]]\nname = \"c1\"\ntcp = { host = \"h\", port = 70000 }\n", "t.toml:3:21: connection \"c1\".tcp.port: 70000 is not allowed; use 1 to 65535"),
    ("[[connection]]\nname = \"c1\"\ntcp = { host = \"\", port = 1 }\n", "t.toml:3:9: connection \"c1\".tcp.host: is empty; give a host name or IP address"),
    ("[[connection]]\nname = \"c1\"\ntcp = { host = \"h\", port = 1 }\nserial = { port = \"/dev/ttyS0\" }\n", "t.toml:4:1: connection \"c1\".serial: a connection has one of tcp, udp, serial or listen; remove the others"),
    ("[[connection]]\nname = \"c1\"\nlisten = { port = 4060 }\ntcp = { host = \"h\", port = 1 }\n", "t.toml:3:1: connection \"c1\".listen: a connection has one of tcp, udp, serial or listen; remove the others"),
    ("{HEAD}interface = \"hdlc\"\nhdlc_window = 8\n", "t.toml:9:1: meter \"m1\".hdlc_window: 8 is not allowed; use 1 to 7"),
    ("{HEAD}pre_established = true\nconformance = \"1E1D\"\n", "t.toml:9:1: meter \"m1\".conformance: \"1E1D\" is not a conformance block; give 6 hex digits such as \"001E1D\" (as the meter's AARE carries them)"),
    ("{HEAD}pre_established = true\nmax_pdu = 12\n", "t.toml:9:1: meter \"m1\".max_pdu: 12 is not allowed; use 64 to 65535"),
    ("{HEAD}max_pdu = 512\n", "t.toml:8:1: meter \"m1\".max_pdu: is only used with pre_established = true; remove it or set that"),
    ("{HEAD}pre_established = true\nauth = { level = \"low\", password = \"x\" }\n", "t.toml:8:1: meter \"m1\".pre_established: a pre-established association has no authentication (there is no AARQ to carry it); set auth level \"none\" or remove pre_established"),
    ("[[connection]]\nname = \"c1\"\nudp = { host = \"h\", port = 0 }\n", "t.toml:3:21: connection \"c1\".udp.port: 0 is not allowed; use 1 to 65535"),
    ("[[connection]]\nname = \"c1\"\nudp = { host = \" \", port = 4059 }\n", "t.toml:3:9: connection \"c1\".udp.host: is empty; give a host name or IP address"),
    ("[[connection]]\nname = \"c1\"\ntcp = { host = \"h\", port = 1 }\nudp = { host = \"h\", port = 1 }\n", "t.toml:4:1: connection \"c1\".udp: a connection has one of tcp, udp, serial or listen; remove the others"),
    ("[[connection]]\nname = \"c1\"\nudp = { host = \"h\", port = 4059 }\n\n[[meter]]\nname = \"m1\"\nconnection = \"c1\"\ninterface = \"hdlc\"\n", "t.toml:8:1: meter \"m1\".interface: is \"hdlc\", but the connection \"c1\" is UDP, which carries WRAPPER PDUs; use interface = \"wrapper\""),
    ("[[connection]]\nname = \"c1\"\nmode = \"dlms\"\n", "t.toml:1:1: connection \"c1\".tcp: is missing; give tcp = { host = \"..\", port = 4059 }, udp = { host = \"..\", port = 4059 }, serial = { port = \"/dev/ttyUSB0\" } or listen = { port = 4060 }"),
    ("[[connection]]\nname = \"c1\"\ntcp = { host = \"h\", port = 1 }\nmode = \"iec\"\n", "t.toml:4:8: connection \"c1\".mode: \"iec\" is not allowed; use dlms or iec62056-21"),
    ("[[connection]]\nname = \"c1\"\nsimulator = true\ntcp = { host = \"h\", port = 1 }\n", "t.toml:4:1: connection \"c1\".tcp: simulator = true is the built-in simulated meter, started on a free loopback port; remove this or remove simulator"),
    // Listening connections and the identity of the meters that dial in.
    ("[[connection]]\nname = \"c1\"\nlisten = { port = 0 }\n", "t.toml:3:12: connection \"c1\".listen.port: 0 is not allowed; use 1 to 65535"),
    ("[[connection]]\nname = \"c1\"\nlisten = { host = \" \", port = 4060 }\n", "t.toml:3:12: connection \"c1\".listen.host: is empty; give the address to listen on, such as 0.0.0.0 (every interface) or 127.0.0.1"),
    ("[[connection]]\nname = \"inbound\"\nlisten = { host = \"0.0.0.0\", port = 4060 }\n\n[[meter]]\nname = \"m1\"\nconnection = \"inbound\"\n", "t.toml:5:1: meter \"m1\": a meter on the listening connection \"inbound\" needs device_name, serial_number or security.server_system_title to be recognised when it dials in"),
    ("{HEAD}device_name = \"\"\n", "t.toml:8:1: meter \"m1\".device_name: is empty; give the logical device name the meter reports (0.0.42.0.0.255), or remove it"),
    ("{HEAD}device_name = \"DLG{K}{K}\"\n", "t.toml:8:1: meter \"m1\".device_name: has 67 characters; use at most 64"),
    // More fields.
    ("[[connection]]\nname = \"c1\"\nserial = { port = \"/dev/ttyUSB0\", data_bits = 9 }\n", "t.toml:3:35: connection \"c1\".serial.data_bits: 9 is not allowed; use 5 to 8"),
    ("[[connection]]\nname = \"c1\"\nserial = { port = \"/dev/ttyUSB0\", stop_bits = 3 }\n", "t.toml:3:35: connection \"c1\".serial.stop_bits: 3 is not allowed; use 1 or 2"),
    ("[[connection]]\nname = \"c1\"\nserial = { port = \"/dev/ttyUSB0\", flow = \"xon\" }\n", "t.toml:3:42: connection \"c1\".serial.flow: \"xon\" is not allowed; use none, rts-cts or xon-xoff"),
    ("[[connection]]\nname = \"c1\"\nserial = { port = \" \" }\n", "t.toml:3:12: connection \"c1\".serial.port: is empty; give a device such as /dev/ttyUSB0"),
    ("[[connection]]\nname = \"\"\ntcp = { host = \"h\", port = 1 }\n", "t.toml:2:1: connection[1].name: is empty; give each connection a unique name"),
    ("{HEAD}interface = \"hdlc\"\naddress_size = 4\nlogical = 20000\n", "t.toml:10:1: meter \"m1\".logical: 20000 is not allowed; use 0 to 16383 with address_size = 4"),
    ("{HEAD}interface = \"hdlc\"\naddress_size = 1\nlogical = 128\n", "t.toml:10:1: meter \"m1\".logical: 128 is not allowed; use 0 to 127 with address_size = 1"),
    ("{HEAD}auth = { level = \"none\", password = \"x\" }\n", "t.toml:8:26: meter \"m1\".auth.password: is only used with level = \"low\"; remove it or set the level"),
    ("{HEAD}auth = { level = \"low\", password = \"\" }\n", "t.toml:8:25: meter \"m1\".auth.password: is empty; level = \"low\" needs the meter's password"),
    ("{HEAD}security = { policy = \"tls\" }\n", "t.toml:8:14: meter \"m1\".security.policy: \"tls\" is not allowed; use none, auth, enc or authenc"),
    // Authentication levels and their secrets.
    ("{HEAD}auth = { level = \"hls\" }\n", "t.toml:8:10: meter \"m1\".auth.level: \"hls\" is not allowed; use none, low, high, md5, sha1, sha256 or gmac"),
    ("{HEAD}auth = { level = \"md5\" }\n", "t.toml:8:1: meter \"m1\".auth.secret: is required with level = \"md5\""),
    ("{HEAD}auth = { level = \"md5\", password = \"x\", secret = \"y\" }\n", "t.toml:8:25: meter \"m1\".auth.password: is only used with level = \"low\"; remove it or set the level"),
    ("{HEAD}auth = { level = \"low\", password = \"x\", secret = \"y\" }\n", "t.toml:8:41: meter \"m1\".auth.secret: is only used with level = \"high\", \"md5\", \"sha1\" or \"sha256\"; remove it or set the level"),
    ("{HEAD}auth = { level = \"gmac\", secret = \"y\" }\n", "t.toml:8:26: meter \"m1\".auth.secret: is only used with level = \"high\", \"md5\", \"sha1\" or \"sha256\"; remove it or set the level"),
    ("{HEAD}auth = { level = \"sha256\", secret = \"\" }\n", "t.toml:8:28: meter \"m1\".auth.secret: is empty; level = \"sha256\" needs the meter's secret"),
    // A field that is not written is placed at its table (here the meter).
    ("{HEAD}auth = { level = \"gmac\" }\n", "t.toml:5:1: meter \"m1\".security.block_key: is required with auth = { level = \"gmac\" }; give 32 hex digits or { env = \"VARIABLE\" }"),
    ("{HEAD}auth = { level = \"gmac\" }\nsecurity = { block_key = \"{K}\" }\n", "t.toml:9:1: meter \"m1\".security.auth_key: is required with auth = { level = \"gmac\" }; give 32 hex digits or { env = \"VARIABLE\" }"),
    ("{HEAD}auth = { level = \"sha1\", secret = 4711 }\n", "t.toml:8:35: meter \"m1\".auth.secret: is not valid; expected a string or { env = \"VARIABLE\" }"),
    // Keys, system titles and the invocation counter.
    ("{HEAD}security = { policy = \"enc\", block_key = \"00112233445566778899AABBCCDDEE\", auth_key = \"{K}\" }\n", "t.toml:8:30: meter \"m1\".security.block_key: must be 32 hex digits (a 128-bit key); got 30 characters"),
    ("{HEAD}security = { policy = \"enc\", block_key = \"{K}\", auth_key = \"0011G2233445566778899AABBCCDDEEF\" }\n", "t.toml:8:78: meter \"m1\".security.auth_key: must be 32 hex digits (a 128-bit key); character 5 is not a hex digit"),
    ("{HEAD}security = { policy = \"auth\", block_key = \"{K}\" }\n", "t.toml:8:1: meter \"m1\".security.auth_key: is required with policy = \"auth\"; give 32 hex digits or { env = \"VARIABLE\" }"),
    ("{HEAD}security = { policy = \"enc\", auth_key = \"{K}\" }\n", "t.toml:8:1: meter \"m1\".security.block_key: is required with policy = \"enc\"; give 32 hex digits or { env = \"VARIABLE\" }"),
    ("{HEAD}security = { dedicated_key = \"{K}00\" }\n", "t.toml:8:14: meter \"m1\".security.dedicated_key: must be 32 hex digits (a 128-bit key); got 34 characters"),
    ("{HEAD}security = { block_key = 1234 }\n", "t.toml:8:26: meter \"m1\".security.block_key: is not valid; expected a string or { env = \"VARIABLE\" }"),
    ("{HEAD}security = { system_title = \"4C4752\" }\n", "t.toml:8:14: meter \"m1\".security.system_title: must be 16 hex digits (an 8-byte system title); got 6 characters"),
    ("{HEAD}security = { server_system_title = \"4C47520000000O01\" }\n", "t.toml:8:14: meter \"m1\".security.server_system_title: must be 16 hex digits (an 8-byte system title); character 14 is not a hex digit"),
    ("{HEAD}security = { ic_obis = \"0.0.43.1\" }\n", "t.toml:8:14: meter \"m1\".security.ic_obis: invalid OBIS code \"0.0.43.1\": it has 4 groups, not 6 (expected A.B.C.D.E.F like 1.0.1.8.0.255, or A-B:C.D.E*F like 1-0:1.8.0*255, each group 0..255)"),
    ("{HEAD}security = { policy = \"none\", key = \"x\" }\n", "t.toml:8:31: meter \"m1\".security.key: unknown field; allowed fields: policy, system_title, block_key, auth_key, dedicated_key, ic_obis, server_system_title or keys"),
    // Secrets from the environment.
    ("{HEAD}security = { policy = \"authenc\", block_key = { env = \"DLMS_LOGGER_TEST_UNSET_BK\" }, auth_key = \"{K}\" }\n", "t.toml:8:34: meter \"m1\".security.block_key: environment variable DLMS_LOGGER_TEST_UNSET_BK is not set"),
    ("{HEAD}auth = { level = \"low\", password = { env = \"DLMS_LOGGER_TEST_UNSET_PW\" } }\n", "t.toml:8:25: meter \"m1\".auth.password: environment variable DLMS_LOGGER_TEST_UNSET_PW is not set"),
    ("{HEAD}security = { block_key = { environment = \"BK\" } }\n", "t.toml:8:28: meter \"m1\".security.block_key.environment: unknown field; allowed fields: env"),
    ("{HEAD}security = { block_key = { } }\n", "t.toml:8:26: meter \"m1\".security.block_key.env: is required"),
    ("{HEAD}security = { auth_key = { env = \"DLMS_LOGGER_TEST_SHORT_KEY\" } }\n", "t.toml:8:14: meter \"m1\".security.auth_key: must be 32 hex digits (a 128-bit key); got 4 characters (from environment variable DLMS_LOGGER_TEST_SHORT_KEY)"),
    ("{HEAD}{REQ}{REQ}", "t.toml:16:1: request \"r1\".name: another request is already named \"r1\"; names must be unique"),
    ("{HEAD}{REQ}timeout_ms = 0\n", "t.toml:14:1: request \"r1\".timeout_ms: 0 is not allowed; use 1 to 86400000"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\", \"m1\"]\nschedule = { once = true }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n", "t.toml:11:17: request \"r1\".meters[2]: \"m1\" is listed twice"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { event = \"\" }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n", "t.toml:12:12: request \"r1\".schedule: event name \"\": use one word of letters, digits, \"_\", \"-\" or \".\""),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\", attribute = 200 }]\n", "t.toml:13:48: request \"r1\".items[1].attribute: 200 is not allowed; use 1 to 127"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [{ name = \"\", obis = \"1.0.1.8.0.255\" }]\n", "t.toml:13:12: request \"r1\".items[1].name: is empty; give each item a unique name"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [{ name = \"p\", obis = \"1.0.99.1.0.255\", entries = 0 }]\n", "t.toml:13:49: request \"r1\".items[1].entries: 0 is not allowed; use 1 to 4294967295"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [{ name = \"p\", obis = \"1.0.99.1.0.255\", entries = 5, since = \"1h\" }]\n", "t.toml:13:49: request \"r1\".items[1].entries: cannot be combined with since/until; read by count or by time"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [{ name = \"p\", obis = \"1.0.99.1.0.255\", since = \"1h\", until = \"2h\" }]\n", "t.toml:13:63: request \"r1\".items[1].until: must be later than since"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [{ name = \"c\", obis = \"0.0.1.0.0.255\", until = \"2024-01-01T00:00:00Z\" }]\n", "t.toml:13:48: request \"r1\".items[1].until: is only for profile generic items (class 7), not class 8; remove it"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n", "t.toml:9:1: request \"r1\".schedule: is required"),
    ("{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { once = true }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\", scale = nan }]\n", "t.toml:13:48: request \"r1\".items[1].scale: NaN is not allowed; use a finite number other than 0"),
    ("meter = 5\n", "t.toml:1:9: meter: invalid type: integer `5`, expected an array"),
    // Sinks (MQTT).
    ("{HEAD}\n[[sink]]\nname = \"b\"\nkind = \"mqtt\"\nhost = \"h\"\ntopic = \"dlms/{meter}\"\n", "t.toml:13:1: sink \"b\".topic: must hold {meter} and {item} (or {obis}) so that each meter's item has its own topic"),
    ("{HEAD}\n[[sink]]\nname = \"b\"\nkind = \"mqtt\"\nhost = \"h\"\ntopic = \"dlms/#/{meter}/{item}\"\n", "t.toml:13:1: sink \"b\".topic: holds an MQTT wildcard (+ or #) or a NUL; topics to publish to cannot"),
    ("{HEAD}\n[[sink]]\nname = \"b\"\nkind = \"mqtt\"\nhost = \"h\"\ntopic = \"x/{meter}/{name}\"\n", "t.toml:13:1: sink \"b\".topic: has an unknown placeholder {name}; use {meter}, {item}, {obis} or {request}"),
    ("{HEAD}\n[[sink]]\nname = \"b\"\nkind = \"kafka\"\nhost = \"h\"\n", "t.toml:11:8: sink \"b\".kind: \"kafka\" is not allowed; use mqtt"),
    ("{HEAD}\n[[sink]]\nname = \"b\"\nkind = \"mqtt\"\n", "t.toml:9:1: sink \"b\".host: is required: the MQTT broker's host name or address"),
    ("{HEAD}\n[[sink]]\nname = \"b\"\nkind = \"mqtt\"\nhost = \"h\"\nport = 0\n", "t.toml:13:1: sink \"b\".port: 0 is not allowed; use 1 to 65535"),
    ("{HEAD}\n[[sink]]\nname = \"b\"\nkind = \"mqtt\"\nhost = \"h\"\npassword = \"secret\"\n", "t.toml:13:1: sink \"b\".password: is given without a username; MQTT sends a password only with a user name"),
    ("{HEAD}\n[[sink]]\nname = \"b\"\nkind = \"mqtt\"\nhost = \"h\"\nusername = \"u\"\npassword = 5\n", "t.toml:14:12: sink \"b\".password: is not valid; expected a string or { env = \"VARIABLE\" }"),
    ("{HEAD}\n[[sink]]\nname = \"b\"\nkind = \"mqtt\"\nhost = \"h\"\noutbox_limit = 0\n", "t.toml:13:1: sink \"b\".outbox_limit: 0 is not allowed; use 1 to 100000000"),
    ("{HEAD}\n[[sink]]\nname = \"b\"\nkind = \"mqtt\"\nhost = \"h\"\n\n[[sink]]\nname = \"b\"\nkind = \"mqtt\"\nhost = \"h2\"\n", "t.toml:15:1: sink \"b\".name: another sink is already named \"b\"; names must be unique"),
];

#[test]
fn every_broken_config_gives_its_message() {
    // Rust's own environment functions hold a lock, so setting one in a test is sound.
    std::env::set_var("DLMS_LOGGER_TEST_SHORT_KEY", "0011");
    let mut wrong = Vec::new();
    for (i, (case, want)) in CASES.iter().enumerate() {
        let text = case
            .replace("{HEAD}", HEAD)
            .replace("{REQ}", REQ)
            .replace("{K}", KEY);
        let got = match Config::parse(&text, "t.toml") {
            Ok(_) => "(accepted)".to_string(),
            Err(e) => e.to_string(),
        };
        if got != *want {
            wrong.push(format!("case {i}:\n  want {want}\n  got  {got}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn files_are_named_by_their_path() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs");
    let valid = Config::load(&dir.join("valid.toml")).unwrap();
    assert_eq!(valid.requests.len(), 5);
    let path = dir.join("unknown-connection.toml");
    let e = Config::load(&path).unwrap_err().to_string();
    let want = format!(
        "{}:7:1: meter \"m1\".connection: there is no connection named \"lab-tpc\"; use \"lab-tcp\"",
        path.display()
    );
    assert_eq!(e, want);
}

/// The message of one broken config (cases below write `{HEAD}` as above).
fn message(case: &str) -> String {
    let text = case.replace("{HEAD}", HEAD).replace("{REQ}", REQ);
    match Config::parse(&text, "t.toml") {
        Ok(_) => "(accepted)".to_string(),
        Err(e) => e.to_string(),
    }
}

/// `[[request]]` named `name`, fired by event `on`, with `extra` lines (e.g. `on_success = ..`).
fn event_request(name: &str, on: &str, extra: &str) -> String {
    format!(
        "\n[[request]]\nname = \"{name}\"\nmeters = [\"m1\"]\nschedule = {{ event = \"{on}\" }}\n{extra}items = [{{ name = \"e\", obis = \"1.0.1.8.0.255\" }}]\n"
    )
}

#[test]
fn an_event_chain_that_leads_back_is_refused_with_the_cycle_named() {
    let two = format!(
        "{{HEAD}}{}{}",
        event_request("a", "go-a", "on_success = \"go-b\"\n"),
        event_request("b", "go-b", "on_failure = \"go-a\"\n")
    );
    assert_eq!(
        message(&two),
        "t.toml:13:1: request \"a\".on_success: the event chain forms a cycle: request \"a\" → \"b\" → \"a\"; each run would fire the next without end, so break the chain"
    );
    let itself = format!(
        "{{HEAD}}{}",
        event_request("self", "again", "on_failure = \"again\"\n")
    );
    assert_eq!(
        message(&itself),
        "t.toml:13:1: request \"self\".on_failure: the event chain forms a cycle: request \"self\" → \"self\"; each run would fire the next without end, so break the chain"
    );
    let three = format!(
        "{{HEAD}}{}{}{}",
        event_request("a", "go-a", "on_success = \"go-b\"\n"),
        event_request("b", "go-b", "on_success = \"go-c\"\n"),
        event_request("c", "go-c", "on_success = \"go-b\"\n"),
    );
    assert!(
        message(&three).contains("request \"b\" → \"c\" → \"b\""),
        "{}",
        message(&three)
    );
    // A chain that ends is fine.
    let chain = format!(
        "{{HEAD}}{}{}",
        event_request("a", "go-a", "on_success = \"go-b\"\n"),
        event_request("b", "go-b", "on_failure = \"alarm\"\n")
    );
    assert_eq!(message(&chain), "(accepted)");
}

#[test]
fn every_and_cron_together_ask_for_one_schedule() {
    let both = "{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { every = \"1m\", cron = \"*/5 * * * *\" }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n";
    assert_eq!(
        message(both),
        "t.toml:12:12: request \"r1\".schedule: give one of every / cron / at / once / event, not every and cron together"
    );
    let none = "{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n";
    assert_eq!(
        message(none),
        "t.toml:12:12: request \"r1\".schedule: give one of every / cron / at / once / event (the table is empty)"
    );
}

#[test]
fn a_cron_that_can_never_fire_is_refused_at_load() {
    let feb31 = "{HEAD}\n[[request]]\nname = \"r1\"\nmeters = [\"m1\"]\nschedule = { cron = \"0 0 31 2 *\" }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n";
    assert_eq!(
        message(feb31),
        "t.toml:12:12: request \"r1\".schedule: cron expression \"0 0 31 2 *\" can never fire: day 31 does not exist in February"
    );
    let apr31 = feb31.replace("0 0 31 2 *", "0 12 31 Apr *");
    assert!(message(&apr31).ends_with("can never fire: day 31 does not exist in April"));
}

#[test]
fn a_port_out_of_range_names_the_range_that_is_accepted() {
    for (port, conn) in [
        ("70000", "tcp = { host = \"h\", port = 70000 }"),
        ("0", "tcp = { host = \"h\", port = 0 }"),
        ("-1", "tcp = { host = \"h\", port = -1 }"),
        ("65536", "listen = { port = 65536 }"),
    ] {
        let key = conn.split_whitespace().next().unwrap();
        // The column of the `port` key.
        let column = conn.find("port").unwrap() + 1;
        assert_eq!(
            message(&format!("[[connection]]\nname = \"c1\"\n{conn}\n")),
            format!(
                "t.toml:3:{column}: connection \"c1\".{key}.port: {port} is not allowed; use 1 to 65535"
            )
        );
    }
    // And both ends of that range are accepted.
    for port in [1, 65535] {
        let ok =
            format!("[[connection]]\nname = \"c1\"\ntcp = {{ host = \"h\", port = {port} }}\n");
        assert_eq!(message(&ok), "(accepted)");
    }
}

#[test]
fn mark_and_space_parity_are_refused_as_unsupported() {
    for parity in ["mark", "space"] {
        assert_eq!(
            message(&format!(
                "[[connection]]\nname = \"c1\"\nserial = {{ port = \"/dev/ttyUSB0\", parity = \"{parity}\" }}\n"
            )),
            format!("t.toml:3:35: connection \"c1\".serial.parity: {parity} parity is not supported: the serial driver (tokio-serial) sets none, even or odd only")
        );
    }
}

/// The column (from 1) of `needle` on line `line` (from 1) of `text`.
fn column(text: &str, line: usize, needle: &str) -> usize {
    let row = text.lines().nth(line - 1).unwrap();
    row.find(needle)
        .unwrap_or_else(|| panic!("{needle} not on line {line}: {row}"))
        + 1
}

#[test]
fn every_problem_of_a_config_is_reported_in_file_order() {
    let text = r#"[[connection]]
name = "c1"
tcp = { host = "h", port = 0 }

[[meter]]
name = "m1"
connection = "c1"
clinet = 1

[[meter]]
name = "m2"
connection = "c1"
retries = 11

[[request]]
name = "r1"
meters = ["m1", "m2"]
schedule = { every = "15s" }
items = [
  { name = "e", obis = "1.0.1.8.0.255", attribute = 0 },
  { name = "f", obis = "1.0.2.8.0.255", scale = 0.0 },
]

[[request]]
name = "r2"
meters = ["m9"]
schedule = { every = "fast" }
items = [{ name = "e", obis = "1.0.1.8.0.255" }]

[[request]]
name = "r3"
meters = ["m2", "m9"]
schedule = { once = true }
items = [{ name = "e", obis = "1.0.1.8.0.255" }]
"#;
    let error = Config::parse(text, "t.toml").unwrap_err();
    let want = [
        format!("t.toml:3:{}: connection \"c1\".tcp.port: 0 is not allowed; use 1 to 65535", column(text, 3, "port")),
        "t.toml:8:1: meter \"m1\".clinet: unknown field; allowed fields: name, connection, interface, client, server, serial_number, device_name, logical, address_size, referencing, auth, security, timeout_ms, retries, enabled, han_preset, pre_established, conformance, max_pdu, release, hdlc_window, gbt or gbt_window".to_string(),
        // m2's connection did not load, but its own fields are still checked.
        "t.toml:13:1: meter \"m2\".retries: 11 is not allowed; use 0 to 10".to_string(),
        // m1 did not load: r1 naming it is not a second problem; each item is checked.
        format!("t.toml:20:{}: request \"r1\".items[1].attribute: 0 is not allowed; use 1 to 127", column(text, 20, "attribute")),
        format!("t.toml:21:{}: request \"r1\".items[2].scale: 0 is not allowed; use a finite number other than 0", column(text, 21, "scale")),
        format!("t.toml:27:{}: request \"r2\".schedule: every \"fast\": write a whole number followed by ms, s, min or h, e.g. every 15s", column(text, 27, "{")),
        // m9 is named nowhere: the list offers the meters that loaded.
        format!("t.toml:32:{}: request \"r3\".meters[2]: there is no meter named \"m9\"; use \"m2\"", column(text, 32, "\"m9\"")),
    ];
    let got: Vec<String> = error.problems().iter().map(ToString::to_string).collect();
    assert_eq!(got, want);
    assert_eq!(
        error.to_string(),
        format!("{} problems:\n{}", want.len(), want.join("\n"))
    );
}

#[test]
fn one_problem_is_reported_alone() {
    let text = "{HEAD}retries = 11\n";
    let error = Config::parse(&text.replace("{HEAD}", HEAD), "t.toml").unwrap_err();
    assert_eq!(error.problems().len(), 1);
    assert_eq!(
        error.to_string(),
        "t.toml:8:1: meter \"m1\".retries: 11 is not allowed; use 0 to 10"
    );
}

#[test]
fn check_prints_every_problem_or_what_the_queue_holds() {
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_dlms-logger");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        format!("{HEAD}retries = 11\n\n[[meter]]\nname = \"m2\"\nconnection = \"c9\"\n"),
    )
    .unwrap();
    let out = std::process::Command::new(exe)
        .args(["check", "-c"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let path = bad.display();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("error: 2 problems:\n{path}:8:1: meter \"m1\".retries: 11 is not allowed; use 0 to 10\n{path}:12:1: meter \"m2\".connection: there is no connection named \"c9\"; use \"c1\"\n")
    );
    let good = dir.path().join("dlms-logger.toml");
    std::fs::write(&good, format!("{HEAD}{REQ}")).unwrap();
    let out = std::process::Command::new(exe)
        .arg("check")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "dlms-logger.toml: ok: 1 connection(s), 1 meter(s), 1 request(s) (1 enabled), 0 sink(s)\n"
    );
}

#[test]
fn several_problems_of_one_meter_are_all_reported() {
    let text = format!("{HEAD}retries = 11\ntimeout_ms = 0\nhdlc_window = 9\n");
    let error = Config::parse(&text, "t.toml").unwrap_err();
    let got: Vec<String> = error.problems().iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "t.toml:8:1: meter \"m1\".retries: 11 is not allowed; use 0 to 10",
            "t.toml:9:1: meter \"m1\".timeout_ms: 0 is not allowed; use 1 to 600000",
            "t.toml:10:1: meter \"m1\".hdlc_window: 9 is not allowed; use 1 to 7",
        ]
    );
}
