#!/bin/sh
# man_page.sh TCPKA SUBCOMMAND NAME OUT SEE_ALSO...: one man page, gzipped, made by help2man
# from the command's own --help. SUBCOMMAND "" makes tcpka(1); any other makes
# tcpka-SUBCOMMAND(1). SEE_ALSO: the other pages' names (tcpka, tcpka-lab, ...).
# help2man dates the page from SOURCE_DATE_EPOCH when it is set (reproducible builds).
set -eu
tcpka=$1 subcommand=$2 name=$3 out=$4
shift 4
title=tcpka${subcommand:+-$subcommand}
see_also=$(mktemp)
page=$(mktemp)
trap 'rm -f "$see_also" "$page"' EXIT

{
  printf '[EXIT STATUS]\n'
  printf '.TP\n0\nSuccess.\n'
  printf '.TP\n1\nA measurement or comparison did not hold (a lab row outside its prediction, a read-back that differs).\n'
  printf '.TP\n2\nBad usage or input: one line on standard error says which.\n'
  printf '.TP\n3\nThe host lacks something the command needs (a capability, BPF, a program): one line says what.\n'
  printf '[SEE ALSO]\n'
  refs=""
  for ref in "$@"; do
    [ "$ref" = "$title" ] && continue
    refs="$refs${refs:+,
}.BR $ref (1)"
  done
  printf '%s\n' "$refs"
} >"$see_also"

help2man --no-info --no-discard-stderr --version-option=--version \
  --help-option="${subcommand:+$subcommand }--help" --name="$name" \
  --include="$see_also" --output="$page" "$tcpka"

# help2man names every page after the program; a subcommand's page is tcpka-SUBCOMMAND.
if [ -n "$subcommand" ]; then
  sed -i -e "s/^\.TH TCPKA /.TH $(echo "$title" | tr a-z A-Z) /" \
    -e "/^\.SH NAME/{n;s/^tcpka /$title /}" "$page"
fi
gzip -9n <"$page" >"$out"
