#!/usr/bin/perl
# A line-driven WebSocket client on Protocol::WebSocket (Debian: libprotocol-websocket-perl).
#
#   ws_client.pl URL VERSION
#
# VERSION is one of Protocol::WebSocket's: draft-hixie-75, draft-ietf-hybi-00 (Hixie-76),
# draft-ietf-hybi-10 (Sec-WebSocket-Version: 8), draft-ietf-hybi-17 (13).
# Prints "open" once the handshake is done and "recv TEXT" for every message; reads
# "send TEXT" and "quit" from standard input.
use strict;
use warnings;
use IO::Select;
use IO::Socket::INET;
use Protocol::WebSocket::Frame;
use Protocol::WebSocket::Handshake::Client;

$| = 1;
binmode STDOUT, ":encoding(UTF-8)";
my ($url, $version) = @ARGV;
die "usage: $0 URL VERSION\n" unless $url && $version;
my ($host, $port) = $url =~ m{^ws://([^/:]+):(\d+)} or die "bad url $url\n";

my $sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')
  or die "connect: $!\n";
binmode $sock;
my $hs = Protocol::WebSocket::Handshake::Client->new(url => $url, version => $version);
syswrite $sock, $hs->to_string;

my $frame = Protocol::WebSocket::Frame->new(version => $version);
my $buf = '';
until ($hs->is_done) {
    my $n = sysread $sock, my $chunk, 4096;
    die "closed during handshake\n" unless $n;
    $buf .= $chunk;
    $hs->parse($buf) or die "handshake failed: " . $hs->error . "\n";
}
print "open\n";
$frame->append($buf) if length $buf;
while (defined(my $msg = $frame->next)) { print "recv $msg\n" }

my $select = IO::Select->new($sock, \*STDIN);
while (1) {
    for my $fh ($select->can_read(30)) {
        if ($fh == $sock) {
            my $n = sysread $sock, my $chunk, 4096;
            unless ($n) { print "closed\n"; exit 0 }
            $frame->append($chunk);
            while (defined(my $msg = $frame->next)) {
                if ($frame->is_close) { print "closed\n"; exit 0 }
                print "recv $msg\n";
            }
        } else {
            my $line = <STDIN>;
            exit 0 unless defined $line;
            chomp $line;
            if ($line =~ /^send (.*)$/) {
                my $out = Protocol::WebSocket::Frame->new(version => $version, buffer => $1, masked => 1);
                syswrite $sock, $out->to_bytes;
            } elsif ($line eq 'quit') {
                exit 0;
            }
        }
    }
}
