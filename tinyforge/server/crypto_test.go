package server

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCipherBindsWorkload(t *testing.T) {
	c, err := NewCipher(bytes.Repeat([]byte{1}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCipher(bytes.Repeat([]byte{2}, KeySize))
	sealed, err := c.Seal(5, forgeCanary)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte(forgeCanary)) {
		t.Fatal("ciphertext contains the plaintext")
	}
	again, _ := c.Seal(5, forgeCanary)
	if bytes.Equal(sealed, again) {
		t.Error("two seals are equal: nonce not random")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name   string
		c      *Cipher
		id     int64
		sealed []byte
		want   string
		err    error
	}{
		{"same workload", c, 5, sealed, forgeCanary, nil},
		{"other workload", c, 6, sealed, "", ErrDecrypt},
		{"other key", other, 5, sealed, "", ErrDecrypt},
		{"tampered", c, 5, tampered, "", ErrDecrypt},
		{"truncated", c, 5, sealed[:10], "", ErrDecrypt},
		{"nothing stored", c, 5, nil, "", nil},
	}
	for _, tt := range tests {
		got, err := tt.c.Open(tt.id, tt.sealed)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("%s: Open = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestParseKey(t *testing.T) {
	k := bytes.Repeat([]byte{0xfb}, KeySize)
	tests := []struct {
		in string
		ok bool
	}{
		{base64.StdEncoding.EncodeToString(k), true},
		{base64.RawURLEncoding.EncodeToString(k) + "\n", true},
		{base64.StdEncoding.EncodeToString(k[:16]), false},
		{"not base64 !!", false},
		{"", false},
	}
	for _, tt := range tests {
		got, err := ParseKey(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseKey(%q) err = %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) && tt.in != "" {
			t.Errorf("ParseKey error quotes the key: %v", err)
		}
		if tt.ok && !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x", tt.in, got)
		}
	}
}

func TestEnsureDevKey(t *testing.T) {
	path := DevKeyPath(filepath.Join(t.TempDir(), "tf.db"))
	k1, created, err := EnsureDevKey(path)
	if err != nil || !created || len(k1) != KeySize {
		t.Fatalf("first EnsureDevKey = %d bytes, created %v, %v", len(k1), created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, created, err := EnsureDevKey(path)
	if err != nil || created || !bytes.Equal(k1, k2) {
		t.Errorf("second EnsureDevKey: created %v, same key %v, %v", created, bytes.Equal(k1, k2), err)
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize)))
	f.Add("====")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err == nil && len(k) != KeySize {
			t.Fatalf("ParseKey accepted a %d-byte key", len(k))
		}
		if err != nil && len(s) > 8 && strings.Contains(err.Error(), s) {
			t.Fatalf("error quotes the input")
		}
	})
}
