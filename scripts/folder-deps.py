#!/usr/bin/env python3
"""Folder pairs of SluiceCore that depend on each other both ways (issue 19's picture: none should).

A type belongs to the folder of the file that declares it at top level; a folder uses another when one of its
files names one of that folder's types outside a comment. Textual, so a name two folders both declare can
mislead; it reads, writes nothing.  Usage: python3 scripts/folder-deps.py [Sources/SluiceCore]
"""
import os,re,collections,sys
root=sys.argv[1] if len(sys.argv)>1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Sources', 'SluiceCore')
decl=re.compile(r'^(?:public |package |internal |fileprivate |private |final |indirect )*(?:struct|class|enum|protocol|actor|typealias)\s+([A-Z][A-Za-z0-9_]*)',re.M)
files={}
for d,_,fs in os.walk(root):
    for f in fs:
        if f.endswith('.swift'):
            p=os.path.join(d,f); folder=os.path.relpath(d,root).split('/')[0]
            files[p]=(folder,open(p).read())
owner={}
for p,(folder,text) in files.items():
    for m in decl.finditer(text):
        owner.setdefault(m.group(1),folder)
uses=collections.defaultdict(set)
for p,(folder,text) in files.items():
    text=re.sub(r'//.*','',text)
    for name in set(re.findall(r'\b[A-Z][A-Za-z0-9_]*\b',text)):
        o=owner.get(name)
        if o and o!=folder: uses[(folder,o)].add(name)
pairs=[(a,b) for (a,b) in uses if (b,a) in uses and a<b]
print(len(pairs),"folder pairs that depend on each other both ways")
for a,b in sorted(pairs):
    print(f"{a} <-> {b}: {a}->{b} {sorted(uses[(a,b)])[:6]} | {b}->{a} {sorted(uses[(b,a)])[:6]}")
