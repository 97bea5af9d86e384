package herald

import (
	"crypto/cipher"
	"crypto/des"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// DeliveryIDKeySize is the length of a DeliveryIDs key.
const DeliveryIDKeySize = 24

// DeliveryIDs turns the store's delivery numbers, one sequence for every
// workspace, into the API's ids, which reveal nothing: neither how many
// deliveries other tenants make nor which came before. An id is "dlv_"
// and the number enciphered under the installation's key (Triple DES, a
// permutation of 64-bit blocks: each number has one id, each id one
// number), in 13 characters of base32.
//
// Ids made before, "dlv_" and the number in decimal, still resolve: they
// are never 13 characters long below a trillion deliveries.
type DeliveryIDs struct {
	block cipher.Block
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewDeliveryIDs returns the ids made under key, DeliveryIDKeySize bytes.
func NewDeliveryIDs(key []byte) (*DeliveryIDs, error) {
	block, err := des.NewTripleDESCipher(key)
	if err != nil {
		return nil, fmt.Errorf("delivery id key: %w", err)
	}
	return &DeliveryIDs{block: block}, nil
}

// Format returns the API id of delivery number n.
func (d *DeliveryIDs) Format(n int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	d.block.Encrypt(b[:], b[:])
	return "dlv_" + idEncoding.EncodeToString(b[:])
}

// Parse returns the delivery number of an id made by Format, or of an id
// of the older decimal form.
func (d *DeliveryIDs) Parse(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, "dlv_")
	if !ok {
		return 0, false
	}
	if len(rest) == 13 {
		b, err := idEncoding.DecodeString(rest)
		if err != nil || len(b) != 8 || idEncoding.EncodeToString(b) != rest {
			return 0, false // the last character's spare bit must be 0: one spelling per id
		}
		d.block.Decrypt(b, b)
		n := int64(binary.BigEndian.Uint64(b))
		if n <= 0 {
			return 0, false
		}
		return n, true
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}
