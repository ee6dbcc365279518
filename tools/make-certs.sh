#!/usr/bin/env bash
# make certs: a throwaway PKI for the tls: binding's tests, made with the
# openssl command line.  Never use these outside tests: the keys sit next
# to the certificates, unencrypted.
#
# usage: make-certs.sh DIR
#
# DIR/ca.pem, ca.key                  "panp test CA": signs everything below
#                                     unless said otherwise
# DIR/other-ca.pem, other-ca.key      "panp rogue CA": trusted by nobody
# DIR/server.pem, server.key          the broker: CN localhost, SAN DNS:localhost,
#                                     IP:127.0.0.1, IP:::1 (serverAuth)
# DIR/server-wrong-name.{pem,key}     the broker's certificate for another name
#                                     (wrong.example): a client must refuse it
# DIR/server-other-ca.{pem,key}       localhost, but signed by the rogue CA
# DIR/client-NAME.{pem,key}           client identities (clientAuth), for NAME in
#                                     alice bob carol dave erin frank grace mallory:
#                                     CN NAME, SAN email:NAME@panp.test,
#                                     URI:panp://users/NAME, DNS:NAME.clients.panp.test
# DIR/client-expired.{pem,key}        CN alice, valid 2020-01-01 to 2020-01-02 only
# DIR/client-other-ca.{pem,key}       CN alice, signed by the rogue CA
# DIR/client-server-only.{pem,key}    CN alice, serverAuth only: not a client
#                                     certificate
# DIR/.stamp                          written last
set -euo pipefail

dir=${1:?usage: make-certs.sh DIR}
CLIENTS="alice bob carol dave erin frank grace mallory"
DAYS=3650

command -v openssl >/dev/null || { echo "make-certs: the openssl command is not installed" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
rm -f ./*.pem ./*.key ./*.csr ./*.ext .stamp
rm -rf ./ca-db
umask 077

newkey() { # out.key
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

mkca() { # name "subject"
  newkey "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days "$DAYS" -subj "$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
}

# leaf NAME CA "subject" "extension lines"
leaf() {
  local name=$1 ca=$2 subj=$3 ext=$4
  newkey "$name.key"
  openssl req -new -key "$name.key" -subj "$subj" -out "$name.csr" 2>/dev/null
  printf '%b\n' "$ext" >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$ca.pem" -CAkey "$ca.key" -CAcreateserial -days "$DAYS" \
    -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

BASE='basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nauthorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash'
SERVER_EXT="$BASE\nextendedKeyUsage=serverAuth"
CLIENT_EXT="$BASE\nextendedKeyUsage=clientAuth"

mkca ca "/O=panp test/CN=panp test CA"
mkca other-ca "/O=panp rogue/CN=panp rogue CA"

leaf server ca "/O=panp test/CN=localhost" "$SERVER_EXT\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
leaf server-wrong-name ca "/O=panp test/CN=wrong.example" "$SERVER_EXT\nsubjectAltName=DNS:wrong.example"
leaf server-other-ca other-ca "/O=panp rogue/CN=localhost" "$SERVER_EXT\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"

for n in $CLIENTS; do
  leaf "client-$n" ca "/O=panp test/CN=$n" \
    "$CLIENT_EXT\nsubjectAltName=email:$n@panp.test,URI:panp://users/$n,DNS:$n.clients.panp.test"
done
leaf client-other-ca other-ca "/O=panp rogue/CN=alice" \
  "$CLIENT_EXT\nsubjectAltName=email:alice@panp.test,URI:panp://users/alice"
leaf client-server-only ca "/O=panp test/CN=alice" "$SERVER_EXT\nsubjectAltName=email:alice@panp.test"

# An expired certificate needs dates in the past, which only `openssl ca`
# sets on OpenSSL 3.0.
mkdir -p ca-db
: >ca-db/index.txt
echo 1000 >ca-db/serial
cat >ca-db/ca.cnf <<EOF
[ca]
default_ca = test
[test]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
certificate = ca.pem
private_key = ca.key
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
x509_extensions = client
[anything]
commonName = supplied
organizationName = optional
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
subjectKeyIdentifier = hash
subjectAltName = email:alice@panp.test,URI:panp://users/alice
EOF
newkey client-expired.key
openssl req -new -key client-expired.key -subj "/O=panp test/CN=alice" -out client-expired.csr 2>/dev/null
openssl ca -batch -config ca-db/ca.cnf -in client-expired.csr -out client-expired.pem \
  -startdate 20200101000000Z -enddate 20200102000000Z -notext >/dev/null 2>&1
rm -rf ca-db client-expired.csr ./*.srl

chmod 0644 ./*.pem
chmod 0600 ./*.key   # as a real deployment would keep them
for f in ca server client-alice client-expired; do
  openssl x509 -in "$f.pem" -noout >/dev/null
done
printf 'made by tools/make-certs.sh on %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >.stamp
echo "make-certs: test PKI in $dir"
