//! Test support (feature `testing`): a real Kea `CalloutHandle` with real Kea objects as
//! arguments (`shim/testing.cc`), so that a hook's callouts are tested against Kea's classes
//! without a running server: make a handle with [`ffi::new_test_handle`], set arguments with
//! the `set_test_*` functions, and call the hook with [`callout`].

use crate::callout::Callout;

/// The test handles and objects of `shim/testing.cc`.
// cxx's generated glue puts several unsafe calls in one block; our code has none here.
#[allow(clippy::multiple_unsafe_ops_per_block)]
#[cxx::bridge(namespace = "kea_runscript")]
pub mod ffi {
    unsafe extern "C++" {
        include!("kea_runscript_testing.h");

        /// Kea's callout handle, shared with the main bridge.
        #[namespace = "isc::hooks"]
        type CalloutHandle = crate::bridge::ffi::CalloutHandle;

        /// Initialises Kea's logging (once per process, writing nothing) so logging succeeds.
        fn init_test_logging() -> Result<()>;
        /// A callout handle on an empty callout manager.
        fn new_test_handle() -> Result<UniquePtr<CalloutHandle>>;
        /// DHCPREQUEST 0x1234 from 00:0c:01:02:03:04 relayed by 192.0.2.2, option 82 with
        /// sub-options 1 "ab" and 2 [1, 2, 3].
        fn set_test_pkt4(handle: Pin<&mut CalloutHandle>, name: &str) -> Result<()>;
        /// RENEW 0x123456 with a client-id, relayed once with interface-id "eth".
        fn set_test_pkt6(handle: Pin<&mut CalloutHandle>, name: &str) -> Result<()>;
        /// A null `Pkt4Ptr`.
        fn set_test_null_pkt4(handle: Pin<&mut CalloutHandle>, name: &str) -> Result<()>;
        /// A null `Lease4Ptr`.
        fn set_test_null_lease4(handle: Pin<&mut CalloutHandle>, name: &str) -> Result<()>;
        /// An `int`, a type no argument has.
        fn set_test_wrong_type(handle: Pin<&mut CalloutHandle>, name: &str) -> Result<()>;
        /// Subnet 10.0.0.0/8, id 2.
        fn set_test_subnet4(handle: Pin<&mut CalloutHandle>, name: &str) -> Result<()>;
        /// Subnet 2001:db8:1::/64, id 1.
        fn set_test_subnet6(handle: Pin<&mut CalloutHandle>, name: &str) -> Result<()>;
        /// Ethernet 00:0c:01:02:03:04.
        fn set_test_hwaddr(handle: Pin<&mut CalloutHandle>, name: &str) -> Result<()>;
        /// Client id 01:00:0c:01:02:03:04.
        fn set_test_client_id(handle: Pin<&mut CalloutHandle>, name: &str) -> Result<()>;
        /// Lease 10.0.0.<last_octet>, subnet 2, valid 4000, hostname "host.example".
        fn set_test_lease4(
            handle: Pin<&mut CalloutHandle>,
            name: &str,
            last_octet: u8,
        ) -> Result<()>;
        /// `count` leases 10.0.1.1… without client id.
        fn set_test_leases4(handle: Pin<&mut CalloutHandle>, name: &str, count: u8) -> Result<()>;
        /// An IA_PD lease 2001:db8:8000::/56 (`prefix`) or an IA_NA lease 2001:db8:1::100.
        fn set_test_lease6(handle: Pin<&mut CalloutHandle>, name: &str, prefix: bool)
            -> Result<()>;
        /// The IA_NA lease of `set_test_lease6` with its cltt set to `cltt` (valid 4000 s).
        fn set_test_lease6_cltt(
            handle: Pin<&mut CalloutHandle>,
            name: &str,
            cltt: i64,
        ) -> Result<()>;
        /// An IA option of type `code`, IAID 7, T1 1000, T2 1600.
        fn set_test_ia(handle: Pin<&mut CalloutHandle>, name: &str, code: u16) -> Result<()>;
        /// A `bool`.
        fn set_test_bool(handle: Pin<&mut CalloutHandle>, name: &str, value: bool) -> Result<()>;
        /// A `std::string`.
        fn set_test_string(handle: Pin<&mut CalloutHandle>, name: &str, value: &str) -> Result<()>;
        /// An `isc::data::ConstElementPtr` parsed by Kea from `json`; a null one when `json`
        /// is empty.
        fn set_test_element(handle: Pin<&mut CalloutHandle>, name: &str, json: &str) -> Result<()>;
        /// A `uint32_t`.
        fn set_test_uint32(handle: Pin<&mut CalloutHandle>, name: &str, value: u32) -> Result<()>;
        /// A `std::vector<uint8_t>`.
        fn set_test_bytes(handle: Pin<&mut CalloutHandle>, name: &str, value: &[u8]) -> Result<()>;
        /// A `Host::IdentifierType` of raw value `raw`.
        fn set_test_host_id_type(
            handle: Pin<&mut CalloutHandle>,
            name: &str,
            raw: u32,
        ) -> Result<()>;

        /// A query parked by this library, shared with the main bridge.
        type ParkedQuery = crate::bridge::ffi::ParkedQuery;
        /// A DHCPDISCOVER parked as Kea parks it at `lease4_offer` (`offer`; else as at
        /// `leases4_committed`), in a parking lot of its own, whose unpark callback reads
        /// `offer_address_in_use` from the query's callout handle as Kea's does.
        fn new_test_parked_query(offer: bool) -> Result<UniquePtr<ParkedQuery>>;
        /// Resumes `parked` on this thread; what its unpark callback read: -1 it did not run,
        /// 0 / 1 the flag, 2 the argument was missing.
        fn resume_test_parked(parked: UniquePtr<ParkedQuery>) -> Result<i8>;
    }

    impl UniquePtr<CalloutHandle> {}
}

/// A [`Callout`] at `hook_point` on a test handle, as Kea would pass it.
pub fn callout(
    handle: &mut cxx::UniquePtr<crate::bridge::ffi::CalloutHandle>,
    hook_point: kea_runscript_env::HookPoint,
) -> Callout<'_> {
    Callout::new(hook_point, handle.pin_mut())
}
