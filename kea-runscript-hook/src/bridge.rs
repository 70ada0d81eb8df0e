//! The cxx bridge to the C++ shim (`shim/`): plain structs of bytes and integers that the shim
//! fills from Kea's objects, and the shim functions that fill them.
//!
//! Every shim function that can meet a C++ exception returns `Result`, so an exception (a wrong
//! argument type, `std::bad_alloc`, …) arrives here as an `Err` instead of unwinding through Rust.
//! `present == false` means Kea passed no such argument or a null pointer.

/// The bridge items (C++ namespace `kea_runscript`; Kea's handles in `isc::hooks`).
// cxx's generated glue puts several unsafe calls in one block; our code has none here.
#[allow(clippy::multiple_unsafe_ops_per_block)]
#[cxx::bridge(namespace = "kea_runscript")]
pub mod ffi {
    /// A hardware address (Kea `HWAddr`).
    #[derive(Debug, Clone, Default)]
    pub struct RawHwAddr {
        /// Whether Kea had one.
        pub present: bool,
        /// Hardware type (1 = Ethernet).
        pub htype: u16,
        /// The address bytes, any length.
        pub bytes: Vec<u8>,
        /// Where Kea learned it (`HWAddr::HWADDR_SOURCE_*` bit).
        pub source: u32,
    }

    /// One option: its code and its payload as Kea packs it (`Option::toBinary(false)`).
    #[derive(Debug, Clone, Default)]
    pub struct RawOption {
        /// Option code.
        pub code: u16,
        /// Packed payload without the code/length header, sub-options included.
        pub payload: Vec<u8>,
    }

    /// A DHCPv4 packet (Kea `Pkt4`). IPv4 addresses are host-order `u32`.
    #[derive(Debug, Clone, Default)]
    pub struct RawPkt4 {
        /// Whether Kea passed one.
        pub present: bool,
        /// DHCP message type (option 53), 0 when absent.
        pub msg_type: u8,
        /// Transaction id.
        pub transid: u32,
        /// Local (server) address.
        pub local_addr: u32,
        /// Local UDP port.
        pub local_port: u16,
        /// Remote (client or relay) address.
        pub remote_addr: u32,
        /// Remote UDP port.
        pub remote_port: u16,
        /// Interface index.
        pub iface_index: u32,
        /// Interface name (bytes, may not be UTF-8).
        pub iface_name: Vec<u8>,
        /// `hops` header field.
        pub hops: u8,
        /// `secs` header field.
        pub secs: u16,
        /// `flags` header field.
        pub flags: u16,
        /// `ciaddr`.
        pub ciaddr: u32,
        /// `siaddr`.
        pub siaddr: u32,
        /// `yiaddr`.
        pub yiaddr: u32,
        /// `giaddr`.
        pub giaddr: u32,
        /// `chaddr` with its type.
        pub hwaddr: RawHwAddr,
        /// Local hardware address (raw sockets).
        pub local_hwaddr: RawHwAddr,
        /// Remote hardware address (raw sockets).
        pub remote_hwaddr: RawHwAddr,
        /// Top-level options in Kea's order.
        pub options: Vec<RawOption>,
    }

    /// One relay encapsulation of a DHCPv6 packet (Kea `Pkt6::RelayInfo`).
    #[derive(Debug, Clone, Default)]
    pub struct RawRelay6 {
        /// RELAY-FORW or RELAY-REPL.
        pub msg_type: u8,
        /// Hop count.
        pub hop_count: u8,
        /// Link address, 16 bytes.
        pub link_addr: Vec<u8>,
        /// Peer address, 16 bytes.
        pub peer_addr: Vec<u8>,
        /// The relay's options.
        pub options: Vec<RawOption>,
    }

    /// A DHCPv6 packet (Kea `Pkt6`). IPv6 addresses are 16 bytes.
    #[derive(Debug, Clone, Default)]
    pub struct RawPkt6 {
        /// Whether Kea passed one.
        pub present: bool,
        /// Message type.
        pub msg_type: u8,
        /// Transaction id.
        pub transid: u32,
        /// Local (server) address.
        pub local_addr: Vec<u8>,
        /// Local UDP port.
        pub local_port: u16,
        /// Remote address.
        pub remote_addr: Vec<u8>,
        /// Remote UDP port.
        pub remote_port: u16,
        /// Interface index.
        pub iface_index: u32,
        /// Interface name (bytes).
        pub iface_name: Vec<u8>,
        /// Remote hardware address (raw sockets).
        pub remote_hwaddr: RawHwAddr,
        /// Kea's `DHCPv6Proto`: 0 UDP, 1 TCP.
        pub proto: u8,
        /// Client identifier DUID (option 1); `bytes` empty when `present` is false.
        pub client_id: RawBytes,
        /// Top-level options in Kea's order.
        pub options: Vec<RawOption>,
        /// Relay encapsulations, outermost first (Kea's `relay_info_` order).
        pub relays: Vec<RawRelay6>,
        /// The client's hardware address from Kea's `getMAC(HWADDR_SOURCE_ANY)`.
        pub mac: RawHwAddr,
    }

    /// A byte string that may be absent (client id, DUID).
    #[derive(Debug, Clone, Default)]
    pub struct RawBytes {
        /// Whether Kea had one.
        pub present: bool,
        /// The bytes.
        pub bytes: Vec<u8>,
    }

    /// A DHCPv4 lease (Kea `Lease4`).
    #[derive(Debug, Clone, Default)]
    pub struct RawLease4 {
        /// Whether Kea passed one.
        pub present: bool,
        /// Leased address, host order.
        pub address: u32,
        /// Client last transmission time (seconds since the epoch).
        pub cltt: i64,
        /// Hostname (bytes).
        pub hostname: Vec<u8>,
        /// Client hardware address.
        pub hwaddr: RawHwAddr,
        /// Kea lease state (0 default, 1 declined, 2 expired-reclaimed).
        pub state: u32,
        /// Subnet id.
        pub subnet_id: u32,
        /// Valid lifetime (s).
        pub valid_lifetime: u32,
        /// Client identifier.
        pub client_id: RawBytes,
        /// Kea's `Lease::expired()` at the time of the callout.
        pub expired: bool,
    }

    /// A DHCPv6 lease (Kea `Lease6`).
    #[derive(Debug, Clone, Default)]
    pub struct RawLease6 {
        /// Whether Kea passed one.
        pub present: bool,
        /// Leased address or prefix, 16 bytes.
        pub address: Vec<u8>,
        /// Client last transmission time.
        pub cltt: i64,
        /// Hostname (bytes).
        pub hostname: Vec<u8>,
        /// Client hardware address.
        pub hwaddr: RawHwAddr,
        /// Kea lease state.
        pub state: u32,
        /// Subnet id.
        pub subnet_id: u32,
        /// Valid lifetime (s).
        pub valid_lifetime: u32,
        /// Client DUID.
        pub duid: RawBytes,
        /// IAID.
        pub iaid: u32,
        /// Preferred lifetime (s).
        pub preferred_lifetime: u32,
        /// Prefix length (128 for addresses).
        pub prefix_len: u8,
        /// Kea `Lease::Type` (0 NA, 1 TA, 2 PD, 3 V4).
        pub lease_type: u32,
        /// Kea's `Lease::expired()` at the time of the callout.
        pub expired: bool,
    }

    /// A collection of DHCPv4 leases (Kea `Lease4CollectionPtr`).
    #[derive(Debug, Clone, Default)]
    pub struct RawLeases4 {
        /// Whether Kea passed one.
        pub present: bool,
        /// The leases in Kea's order (null entries skipped).
        pub leases: Vec<RawLease4>,
    }

    /// A collection of DHCPv6 leases (Kea `Lease6CollectionPtr`).
    #[derive(Debug, Clone, Default)]
    pub struct RawLeases6 {
        /// Whether Kea passed one.
        pub present: bool,
        /// The leases in Kea's order (null entries skipped).
        pub leases: Vec<RawLease6>,
    }

    /// An IPv4 subnet (Kea `Subnet4`).
    #[derive(Debug, Clone, Default)]
    pub struct RawSubnet4 {
        /// Whether Kea passed one.
        pub present: bool,
        /// Subnet id.
        pub id: u32,
        /// Prefix address, host order.
        pub prefix: u32,
        /// Prefix length.
        pub prefix_len: u8,
    }

    /// An IPv6 subnet (Kea `Subnet6`).
    #[derive(Debug, Clone, Default)]
    pub struct RawSubnet6 {
        /// Whether Kea passed one.
        pub present: bool,
        /// Subnet id.
        pub id: u32,
        /// Prefix address, 16 bytes.
        pub prefix: Vec<u8>,
        /// Prefix length.
        pub prefix_len: u8,
    }

    /// An IA option (Kea `Option6IA`: IA_NA or IA_PD).
    #[derive(Debug, Clone, Default)]
    pub struct RawIa {
        /// Whether Kea passed one.
        pub present: bool,
        /// IAID.
        pub iaid: u32,
        /// Option code: 3 IA_NA, 4 IA_TA, 25 IA_PD.
        pub ia_type: u16,
        /// T1 (s).
        pub t1: u32,
        /// T2 (s).
        pub t2: u32,
    }

    /// A boolean argument.
    #[derive(Debug, Clone, Default)]
    pub struct RawBool {
        /// Whether Kea passed one.
        pub present: bool,
        /// Its value.
        pub value: bool,
    }

    /// One entry of the staging configuration's `hooks-libraries`.
    #[derive(Debug, Clone, Default)]
    pub struct RawLibrary {
        /// The `library` path as configured.
        pub path: String,
        /// Its `parameters` as JSON text (`"{}"` when absent).
        pub parameters: String,
    }

    unsafe extern "C++" {
        include!("kea_runscript_shim.h");

        /// Kea's per-packet callout handle (opaque).
        #[namespace = "isc::hooks"]
        type CalloutHandle;
        /// Kea's per-library handle passed to `load` (opaque).
        #[namespace = "isc::hooks"]
        type LibraryHandle;

        /// `KEA_HOOKS_VERSION` of the headers the shim was compiled against.
        fn hooks_version() -> i32;
        /// The library's `parameters` map as JSON text (`"{}"` when absent).
        fn library_parameters(handle: Pin<&mut LibraryHandle>) -> Result<String>;
        /// The `hooks-libraries` of the configuration Kea is parsing (empty outside parsing).
        fn staged_libraries() -> Result<Vec<RawLibrary>>;
        /// Errs, naming the allowed directory, when the Kea built against restricts where
        /// hook scripts may live (3.0 on) and `path` is not there; passes otherwise.
        fn check_script_path(path: &str) -> Result<()>;
        /// Log `text` as `%1` of message `id` on the "kea-runscript" logger;
        /// severity 0 debug, 1 info, 2 warn, 3 error. False, and nothing logged, when `id` is
        /// not in Kea's message dictionary.
        fn log_message(severity: u8, id: &str, text: &str) -> Result<bool>;

        /// The handle's next-step status (`CalloutNextStep` value).
        fn get_status(handle: &CalloutHandle) -> Result<i32>;
        /// Set the handle's next-step status (`CalloutNextStep` value).
        fn set_status(handle: Pin<&mut CalloutHandle>, next_step: i32) -> Result<()>;

        /// Argument of type `Pkt4Ptr`.
        fn get_pkt4(handle: &CalloutHandle, name: &str) -> Result<RawPkt4>;
        /// Argument of type `Pkt6Ptr`.
        fn get_pkt6(handle: &CalloutHandle, name: &str) -> Result<RawPkt6>;
        /// Argument of type `Lease4Ptr`.
        fn get_lease4(handle: &CalloutHandle, name: &str) -> Result<RawLease4>;
        /// Argument of type `Lease6Ptr`.
        fn get_lease6(handle: &CalloutHandle, name: &str) -> Result<RawLease6>;
        /// Argument of type `Lease4CollectionPtr`.
        fn get_leases4(handle: &CalloutHandle, name: &str) -> Result<RawLeases4>;
        /// Argument of type `Lease6CollectionPtr`.
        fn get_leases6(handle: &CalloutHandle, name: &str) -> Result<RawLeases6>;
        /// Argument of type `Subnet4Ptr`.
        fn get_subnet4(handle: &CalloutHandle, name: &str) -> Result<RawSubnet4>;
        /// Argument of type `Subnet6Ptr`.
        fn get_subnet6(handle: &CalloutHandle, name: &str) -> Result<RawSubnet6>;
        /// Argument of type `HWAddrPtr`.
        fn get_hwaddr(handle: &CalloutHandle, name: &str) -> Result<RawHwAddr>;
        /// Argument of type `ClientIdPtr`.
        fn get_client_id(handle: &CalloutHandle, name: &str) -> Result<RawBytes>;
        /// Argument of type `IOAddress` (by value): its bytes, 16 for IPv6.
        fn get_address(handle: &CalloutHandle, name: &str) -> Result<RawBytes>;
        /// Argument of type `Option6IAPtr`.
        fn get_ia(handle: &CalloutHandle, name: &str) -> Result<RawIa>;
        /// Argument of type `bool`.
        fn get_bool(handle: &CalloutHandle, name: &str) -> Result<RawBool>;
        /// Kea's `toText()` of a `Pkt6Ptr` argument (empty when absent).
        fn get_pkt6_text(handle: &CalloutHandle, name: &str) -> Result<String>;
        /// Kea's `toText()` of a `Lease4Ptr` argument (empty when absent).
        fn get_lease4_text(handle: &CalloutHandle, name: &str) -> Result<String>;
        /// Kea's `toText()` of a `Lease6Ptr` argument (empty when absent).
        fn get_lease6_text(handle: &CalloutHandle, name: &str) -> Result<String>;
    }
}
