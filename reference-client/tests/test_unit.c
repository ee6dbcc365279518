/* test_unit.c - libpanp pieces that need no broker: addresses, the id map,
 * the byte buffer, names, argument checks, the facade's error mapping and
 * data objects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "buf.h"
#include "map.h"
#include "panp/client.h"
#include "panp/prnasnot.h"

static void test_addr_parse(void **state)
{
    (void)state;
    paddr a;
    panp_status st;
    assert_int_equal(addr_parse("unix:/run/panp/panp.sock", &a, &st), PANP_OK);
    assert_int_equal(a.kind, ADDR_UNIX);
    assert_string_equal(a.path, "/run/panp/panp.sock");
    assert_int_equal(addr_parse("tcp:localhost:6310", &a, &st), PANP_OK);
    assert_int_equal(a.kind, ADDR_TCP);
    assert_string_equal(a.host, "localhost");
    assert_string_equal(a.port, "6310");
    assert_int_equal(addr_parse("tcp:[::1]:7", &a, &st), PANP_OK);
    assert_string_equal(a.host, "::1");
    assert_string_equal(a.port, "7");
    assert_int_equal(addr_parse("tls:h:1", &a, &st), PANP_OK); /* SPEC 4.4 */
    assert_int_equal(a.kind, ADDR_TLS);
    assert_string_equal(a.host, "h");
    const char *bad[] = {"", "unix:", "tcp:host", "tcp::80", "tcp:h:x1", "tcp:[::1]7",
                         "http://x", "tls:h", "tls:[::1]7"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(addr_parse(bad[i], &a, &st), PANP_ERR_INVALID_ARGUMENT);
        assert_non_null(strstr(st.message, "broker address"));
    }
    char longpath[200];
    memset(longpath, 'a', sizeof longpath);
    memcpy(longpath, "unix:", 5);
    longpath[199] = 0;
    assert_int_equal(addr_parse(longpath, &a, &st), PANP_ERR_INVALID_ARGUMENT);
}

static void test_idmap(void **state)
{
    (void)state;
    idmap m = {0};
    int vals[1000];
    for (int i = 0; i < 1000; i++)
        assert_true(idmap_put(&m, (uint64_t)i * 0x100000001ULL + 1, &vals[i]));
    for (int i = 0; i < 1000; i += 2)
        assert_ptr_equal(idmap_del(&m, (uint64_t)i * 0x100000001ULL + 1), &vals[i]);
    for (int i = 0; i < 1000; i++)
        assert_ptr_equal(idmap_get(&m, (uint64_t)i * 0x100000001ULL + 1),
                         i % 2 ? &vals[i] : NULL);
    /* Churn: tombstones must not fill the table. */
    for (int round = 0; round < 50; round++) {
        for (uint64_t k = 1; k <= 100; k++)
            assert_true(idmap_put(&m, 5000000 + k + (uint64_t)round * 1000, vals));
        for (uint64_t k = 1; k <= 100; k++)
            assert_non_null(idmap_del(&m, 5000000 + k + (uint64_t)round * 1000));
    }
    assert_int_equal(m.live, 500);
    assert_null(idmap_get(&m, 0));
    idmap_free(&m);
}

static void test_pbuf(void **state)
{
    (void)state;
    pbuf b = {0};
    for (int i = 0; i < 1000; i++)
        assert_true(pbuf_append(&b, "abcdefgh", 8));
    assert_int_equal(pbuf_len(&b), 8000);
    pbuf_consume(&b, 7996);
    assert_memory_equal(pbuf_head(&b), "efgh", 4);
    assert_true(pbuf_append(&b, "ij", 2));
    assert_memory_equal(pbuf_head(&b), "efghij", 6);
    pbuf_consume(&b, 6);
    assert_int_equal(pbuf_len(&b), 0);
    pbuf_free(&b);
}

static void test_names_and_types(void **state)
{
    (void)state;
    uint8_t t[16];
    assert_true(panp_type_parse("port-monitor", t));
    assert_memory_equal(t, PANP_TYPE_PORT_MONITOR_CHANNEL, 16);
    assert_string_equal(panp_type_name(t), "port-monitor");
    assert_true(panp_type_parse("f6853f92-eb31-4e23-b6e7-fd69056153f0", t));
    assert_string_equal(panp_type_name(t), "async-ui");
    assert_true(panp_type_parse("00000000-0000-0000-0000-000000000001", t));
    assert_null(panp_type_name(t));
    assert_false(panp_type_parse("toner", t));
    assert_string_equal(panp_strerror(PANP_ERR_TIMEOUT), "TIMEOUT");
    assert_string_equal(panp_strerror(PANP_ERR_CHANNEL_ALREADY_CLOSED), "CHANNEL_ALREADY_CLOSED");
    assert_string_equal(panp_strerror(PANP_OK), "OK");
    /* The library's codes sit in the range msg.h reserves, at their old values. */
    assert_int_equal(PANP_ERR_CLIENT_BASE, PANP_ERR_LOCAL_BASE);
    assert_int_equal(PANP_ERR_IO, 1001);
    assert_int_equal(PANP_ERR_NOMEM, 1005);
    assert_int_equal(PANP_REG_END_DISCONNECTED, 1001);
    assert_int_equal(PANP_REG_END_REREGISTER_FAILED, 1002);
    assert_string_equal(panp_strerror(PANP_ERR_IO), "IO");
    assert_string_equal(panp_error_code_name(PANP_ERR_IO), "LOCAL");
    assert_string_equal(panp_close_result_name(PANP_CLOSE_RESULT_ACQUIRED_BY_ANOTHER),
                        "ACQUIRED_BY_ANOTHER");
    /* The facade's GUIDs are the same UUIDs. */
    assert_memory_equal(NOTIFICATION_RELEASE.bytes, PANP_TYPE_NOTIFICATION_RELEASE, 16);
    assert_memory_equal(PRINT_ASYNC_NOTIFY_ASYNC_UI.bytes, PANP_TYPE_ASYNC_UI, 16);
    assert_memory_equal(PRINT_ASYNC_NOTIFY_PRINTER_CONFIGURATION.bytes,
                        PANP_TYPE_PRINTER_CONFIGURATION, 16);
    assert_memory_equal(PRINT_PORT_MONITOR_NOTIFY_CHANNEL.bytes, PANP_TYPE_PORT_MONITOR_CHANNEL,
                        16);
}

static void test_async_context_offline(void **state)
{
    (void)state;
    panp_client *c;
    panp_status st;
    panp_options o = {.broker = "unix:/nonexistent/x.sock"};
    assert_int_equal(panp_async_connect(&o, &c, &st), PANP_ERR_CONNECT);
    /* With reconnect on, the context exists and keeps trying. */
    o.reconnect = true;
    assert_int_equal(panp_async_connect(&o, &c, &st), PANP_OK);
    assert_false(panp_is_connected(c));
    assert_int_equal(panp_fd(c), -1);
    assert_int_equal(panp_last_error(c)->code, PANP_ERR_CONNECT);
    uint8_t t[16];
    panp_type_parse("async-ui", t);
    panp_channel_params cp = {.type = t};
    assert_int_equal(panp_async_channel_open(c, &cp, NULL, NULL, NULL, &st),
                     PANP_ERR_DISCONNECTED);
    panp_free(c);
}

static void test_argument_checks(void **state)
{
    (void)state;
    panp_client *c;
    panp_status st;
    panp_options o = {.broker = "unix:/nonexistent/x.sock", .reconnect = true};
    assert_int_equal(panp_async_connect(&o, &c, &st), PANP_OK);
    panp_register_params p = {0};
    assert_int_equal(panp_async_register_listener(c, &p, NULL, NULL, NULL, &st),
                     PANP_ERR_INVALID_ARGUMENT);
    p.type = PANP_TYPE_NOTIFICATION_RELEASE;
    assert_int_equal(panp_async_register_listener(c, &p, NULL, NULL, NULL, &st),
                     PANP_ERR_INVALID_ARGUMENT);
    assert_non_null(strstr(st.message, "NOTIFICATION_RELEASE"));
    p.type = PANP_TYPE_ASYNC_UI;
    p.client_state_len = 129;
    p.client_state = "";
    assert_int_equal(panp_async_register_listener(c, &p, NULL, NULL, NULL, &st),
                     PANP_ERR_INVALID_ARGUMENT);
    o.max_frame_size = 100;
    panp_client *c2;
    assert_int_equal(panp_connect(&o, &c2, &st), PANP_ERR_INVALID_ARGUMENT);
    panp_free(c);
}

static void test_hresults(void **state)
{
    (void)state;
    assert_int_equal(PanpHresultFromError(PANP_OK, PANP_CALL_SEND), S_OK);
    assert_int_equal(PanpHresultFromError(PANP_ERR_AWAITING_REPLY, PANP_CALL_SEND),
                     PANP_HR_ERROR(CHANNEL_WAITING_FOR_CLIENT_NOTIFICATION));
    assert_int_equal((uint32_t)PANP_HR_ERROR(CHANNEL_WAITING_FOR_CLIENT_NOTIFICATION),
                     0x8004000Au);
    assert_int_equal(PanpHresultFromError(PANP_ERR_RESOURCE_EXHAUSTED, PANP_CALL_REGISTER),
                     PANP_HR_ERROR(MAX_REGISTRATION_COUNT_EXCEEDED));
    assert_int_equal(PanpHresultFromError(PANP_ERR_RESOURCE_EXHAUSTED, PANP_CALL_CREATE_CHANNEL),
                     PANP_HR_ERROR(MAX_CHANNEL_COUNT_EXCEEDED));
    assert_int_equal(PanpHresultFromError(PANP_ERR_TYPE_MISMATCH, PANP_CALL_SEND),
                     PANP_HR_ERROR(INVALID_NOTIFICATION_TYPE));
    assert_int_equal(PanpHresultFromError(PANP_ERR_NOT_FOUND, PANP_CALL_UNREGISTER),
                     PANP_HR_ERROR(NOT_REGISTERED));
    assert_int_equal(PanpHresultFromError(PANP_ERR_ACCESS_DENIED, PANP_CALL_REGISTER),
                     E_ACCESSDENIED);
    assert_int_equal(PanpHresultFromError(PANP_ERR_DISCONNECTED, PANP_CALL_SEND),
                     PANP_E_CONNECTION_LOST);
    assert_true(FAILED(PANP_HR_ERROR(CHANNEL_ALREADY_CLOSED)));
    assert_true(SUCCEEDED(PANP_HR_SUCCESS(CHANNEL_ACQUIRED)));
    assert_int_equal((uint32_t)PANP_HR_SUCCESS(CHANNEL_ACQUIRED), 0x00040010u);
    assert_int_equal(kPerUser, 0);
    assert_int_equal(kAllUsers, 1);
    assert_int_equal(kBiDirectional, 1);
    assert_int_equal(kUniDirectional, 2);
}

static void test_data_object(void **state)
{
    (void)state;
    IPrintAsyncNotifyDataObject *d;
    assert_int_equal(PanpCreateDataObject(&PRINT_ASYNC_NOTIFY_ASYNC_UI, "hello", 5, &d), S_OK);
    BYTE *bytes;
    ULONG size;
    PrintAsyncNotificationType *type;
    assert_int_equal(d->lpVtbl->AcquireData(d, &bytes, &size, &type), S_OK);
    assert_int_equal(size, 5);
    assert_memory_equal(bytes, "hello", 5);
    assert_memory_equal(type->bytes, PANP_TYPE_ASYNC_UI, 16);
    assert_int_equal(d->lpVtbl->ReleaseData(d), S_OK);
    assert_int_equal(d->lpVtbl->AddRef(d), 2);
    assert_int_equal(d->lpVtbl->Release(d), 1);
    assert_int_equal(d->lpVtbl->Release(d), 0);
    assert_int_equal(PanpCreateDataObject(NULL, "x", 1, &d), E_POINTER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr_parse),         cmocka_unit_test(test_idmap),
        cmocka_unit_test(test_pbuf),               cmocka_unit_test(test_names_and_types),
        cmocka_unit_test(test_async_context_offline), cmocka_unit_test(test_argument_checks),
        cmocka_unit_test(test_hresults),           cmocka_unit_test(test_data_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
