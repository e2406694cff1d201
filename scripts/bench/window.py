#!/usr/bin/env python3
# window.py PERF_DATA: samples of a replay's apply window (between the first and the last sample
# in event decoding), in the kernel and in user code.
import sys,subprocess,re,collections
f=sys.argv[1]
out=subprocess.run(['perf','script','-i',f,'-F','time,ip,sym'],capture_output=True,text=True).stdout
rows=[]
for l in out.splitlines():
    m=re.match(r'\s*([\d.]+):\s+([0-9a-f]+)\s+(.*)',l)
    if m: rows.append((float(m.group(1)),int(m.group(2),16),m.group(3).strip()))
dec=[t for t,ip,s in rows if 'decode_str' in s]
a,b=min(dec),max(dec)
win=[(t,ip,s) for t,ip,s in rows if a<=t<=b]
k=sum(1 for t,ip,s in win if ip>=0xffff000000000000)
print(f, 'window %.2fs'%(b-a), 'samples',len(win),'kernel',k,'user',len(win)-k)
