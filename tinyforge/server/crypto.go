package server

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// KeySize is the length in bytes of the secret key that encrypts repo access tokens at rest.
const KeySize = 32

// Cipher encrypts repo access tokens with AES-256-GCM, binding each ciphertext to its workload
// id (the id is the additional data, so a token copied to another workload's row fails to open).
// Build it with NewCipher; the zero value is not usable.
type Cipher struct {
	aead cipher.AEAD
}

// NewCipher returns a Cipher for a KeySize-byte key.
func NewCipher(key []byte) (*Cipher, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key is %d bytes, want %d; generate one with `head -c 32 /dev/urandom | base64`", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	return &Cipher{aead: aead}, nil
}

func workloadAD(workloadID int64) []byte {
	return []byte("tinyforge-workload:" + strconv.FormatInt(workloadID, 10))
}

// Seal encrypts plaintext for workloadID: a random 12-byte nonce followed by the ciphertext.
// An empty plaintext seals to nil (no token stored).
func (c *Cipher) Seal(workloadID int64, plaintext string) ([]byte, error) {
	if plaintext == "" {
		return nil, nil
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("encrypt repo token: %w", err)
	}
	return c.aead.Seal(nonce, nonce, []byte(plaintext), workloadAD(workloadID)), nil
}

// ErrDecrypt means a stored token does not open with this key and workload id: the key changed,
// or the row was tampered with or copied from another workload.
var ErrDecrypt = errors.New("stored repo token cannot be decrypted; check TINYFORGE_SECRET_KEY or set the repo access token again")

// Open decrypts what Seal returned for the same workloadID. nil opens to "".
func (c *Cipher) Open(workloadID int64, sealed []byte) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	n := c.aead.NonceSize()
	if len(sealed) < n+c.aead.Overhead() {
		return "", ErrDecrypt
	}
	pt, err := c.aead.Open(nil, sealed[:n], sealed[n:], workloadAD(workloadID))
	if err != nil {
		return "", ErrDecrypt
	}
	return string(pt), nil
}

// ParseKey decodes a base64 (standard or URL alphabet, padded or not) KeySize-byte key.
// The error never quotes the key.
func ParseKey(b64 string) ([]byte, error) {
	s := strings.TrimSpace(b64)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != KeySize {
				return nil, fmt.Errorf("secret key decodes to %d bytes, want %d; generate one with `head -c 32 /dev/urandom | base64`", len(k), KeySize)
			}
			return k, nil
		}
	}
	return nil, errors.New("secret key is not base64; generate one with `head -c 32 /dev/urandom | base64`")
}

// ReadKeyFile reads a base64 key from path (whitespace around it is ignored).
func ReadKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read secret key file: %w", err)
	}
	k, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return k, nil
}

// DevKeyPath is where --dev keeps its generated key: beside the database, "<db>.secret-key".
func DevKeyPath(dbPath string) string {
	return filepath.Clean(dbPath) + ".secret-key"
}

// EnsureDevKey reads the key file at path, or creates it with a fresh random key and mode 0600
// when it does not exist; created reports which happened. Only for --dev.
func EnsureDevKey(path string) (key []byte, created bool, err error) {
	if _, statErr := os.Stat(path); statErr == nil {
		k, err := ReadKeyFile(path)
		return k, false, err
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, false, fmt.Errorf("generate dev secret key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create dev secret key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("write dev secret key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("write dev secret key file: %w", err)
	}
	return k, true, nil
}
