/* uuid.c - UUIDs between their 16 wire bytes and the RFC 9562 text form. */
#include <string.h>

#include "panp/codec.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_dash_position(size_t i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

bool panp_uuid_parse(const char *text, uint8_t out[PANP_UUID_LEN])
{
    uint8_t tmp[PANP_UUID_LEN];
    size_t n = 0;
    if (!text || strlen(text) != 36)
        return false;
    for (size_t i = 0; i < 36; i++) {
        if (is_dash_position(i)) {
            if (text[i] != '-')
                return false;
            continue;
        }
        int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        tmp[n++] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    memcpy(out, tmp, sizeof tmp);
    return true;
}

void panp_uuid_format(const uint8_t uuid[PANP_UUID_LEN], char out[37])
{
    static const char digits[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < PANP_UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = digits[uuid[i] >> 4];
        out[o++] = digits[uuid[i] & 15];
    }
    out[o] = '\0';
}

bool panp_bytes_is_uuid(panp_bytes b, const uint8_t uuid[PANP_UUID_LEN])
{
    return b.len == PANP_UUID_LEN && b.data && memcmp(b.data, uuid, PANP_UUID_LEN) == 0;
}
