; ModuleID = "prefix_sum"
target triple = "nvptx64-nvidia-cuda"
target datalayout = "e-p6:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"

define ptx_kernel void @"prefix_sum__scan_reduce"(i64 %"n", ptr noalias readonly align 16 %"x", ptr noalias align 16 %"out", ptr %"partials") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca i32
  %"i" = alloca i64
  %"t.x2" = alloca i32
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  %"kk" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".7" = load i64, i64* %"n.1"
  %".8" = load i64, i64* %"n.1"
  store i32 0, i32* %"s"
  %".10" = load i64, i64* %"n.1"
  store i32 0, i32* %"s"
  %".12" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".13" = zext i32 %".12" to i64
  %".14" = mul i64 %".13", 1024
  %".15" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".16" = zext i32 %".15" to i64
  %".17" = mul i64 %".16", 4
  %".18" = add i64 %".14", %".17"
  %".19" = add i64 %".18", 4
  %".20" = icmp ule i64 %".19", %".10"
  br i1 %".20", label %"k.full", label %"k.part"
k.full:
  %".22" = add i64 %".18", 0
  store i64 %".22", i64* %"i"
  %".24" = load i32, i32* %"s"
  %".25" = load i64, i64* %"i"
  %".26" = getelementptr inbounds i32, ptr %"x", i64 %".25"
  %".27" = load i32, ptr %".26", align 4
  %".28" = add i32 %".24", %".27"
  store i32 %".28", i32* %"t.x2"
  %".30" = load i32, i32* %"s"
  %".31" = load i64, i64* %"i"
  %".32" = getelementptr inbounds i32, ptr %"x", i64 %".31"
  %".33" = load i32, ptr %".32", align 4
  %".34" = add i32 %".30", %".33"
  store i32 %".34", i32* %"s"
  %".36" = add i64 %".18", 1
  store i64 %".36", i64* %"i"
  %".38" = load i32, i32* %"s"
  %".39" = load i64, i64* %"i"
  %".40" = getelementptr inbounds i32, ptr %"x", i64 %".39"
  %".41" = load i32, ptr %".40", align 4
  %".42" = add i32 %".38", %".41"
  store i32 %".42", i32* %"t.x2"
  %".44" = load i32, i32* %"s"
  %".45" = load i64, i64* %"i"
  %".46" = getelementptr inbounds i32, ptr %"x", i64 %".45"
  %".47" = load i32, ptr %".46", align 4
  %".48" = add i32 %".44", %".47"
  store i32 %".48", i32* %"s"
  %".50" = add i64 %".18", 2
  store i64 %".50", i64* %"i"
  %".52" = load i32, i32* %"s"
  %".53" = load i64, i64* %"i"
  %".54" = getelementptr inbounds i32, ptr %"x", i64 %".53"
  %".55" = load i32, ptr %".54", align 4
  %".56" = add i32 %".52", %".55"
  store i32 %".56", i32* %"t.x2"
  %".58" = load i32, i32* %"s"
  %".59" = load i64, i64* %"i"
  %".60" = getelementptr inbounds i32, ptr %"x", i64 %".59"
  %".61" = load i32, ptr %".60", align 4
  %".62" = add i32 %".58", %".61"
  store i32 %".62", i32* %"s"
  %".64" = add i64 %".18", 3
  store i64 %".64", i64* %"i"
  %".66" = load i32, i32* %"s"
  %".67" = load i64, i64* %"i"
  %".68" = getelementptr inbounds i32, ptr %"x", i64 %".67"
  %".69" = load i32, ptr %".68", align 4
  %".70" = add i32 %".66", %".69"
  store i32 %".70", i32* %"t.x2"
  %".72" = load i32, i32* %"s"
  %".73" = load i64, i64* %"i"
  %".74" = getelementptr inbounds i32, ptr %"x", i64 %".73"
  %".75" = load i32, ptr %".74", align 4
  %".76" = add i32 %".72", %".75"
  store i32 %".76", i32* %"s"
  br label %"k.chunk"
k.part:
  %".79" = add i64 %".18", 4
  %".80" = icmp ult i64 %".79", %".10"
  %".81" = select  i1 %".80", i64 %".79", i64 %".10"
  store i64 %".18", i64* %"pos"
  br label %"k.head"
k.chunk:
  %".105" = load i32, i32* %"s"
  %".106" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".107" = zext i32 %".106" to i64
  %".108" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".105", i32 16, i32 31)
  %".109" = add i32 %".105", %".108"
  %".110" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".109", i32 8, i32 31)
  %".111" = add i32 %".109", %".110"
  %".112" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".111", i32 4, i32 31)
  %".113" = add i32 %".111", %".112"
  %".114" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".113", i32 2, i32 31)
  %".115" = add i32 %".113", %".114"
  %".116" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".115", i32 1, i32 31)
  %".117" = add i32 %".115", %".116"
  %".118" = and i64 %".107", 31
  %".119" = lshr i64 %".107", 5
  %".120" = icmp eq i64 %".118", 0
  br i1 %".120", label %"k.then", label %"k.end"
k.head:
  %".84" = load i64, i64* %"pos"
  %".85" = icmp ult i64 %".84", %".81"
  br i1 %".85", label %"k.loop", label %"k.done"
k.loop:
  store i64 %".84", i64* %"i"
  %".88" = load i32, i32* %"s"
  %".89" = load i64, i64* %"i"
  %".90" = getelementptr inbounds i32, ptr %"x", i64 %".89"
  %".91" = load i32, ptr %".90", align 4
  %".92" = add i32 %".88", %".91"
  store i32 %".92", i32* %"t.x2"
  %".94" = load i32, i32* %"s"
  %".95" = load i64, i64* %"i"
  %".96" = getelementptr inbounds i32, ptr %"x", i64 %".95"
  %".97" = load i32, ptr %".96", align 4
  %".98" = add i32 %".94", %".97"
  store i32 %".98", i32* %"s"
  %".100" = load i64, i64* %"pos"
  %".101" = add i64 %".100", 1
  store i64 %".101", i64* %"pos"
  br label %"k.head"
k.done:
  br label %"k.chunk"
k.then:
  %".122" = trunc i64 %".119" to i32
  %".123" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"prefix_sum__scan_reduce.shared4", i32 0, i32 %".122"
  store i32 %".117", i32 addrspace(3)* %".123"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".127" = trunc i64 %".118" to i32
  %".128" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"prefix_sum__scan_reduce.shared4", i32 0, i32 %".127"
  %".129" = load i32, i32 addrspace(3)* %".128"
  %".130" = icmp ult i64 %".118", 8
  %".131" = select  i1 %".130", i32 %".129", i32 0
  %".132" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".131", i32 16, i32 31)
  %".133" = add i32 %".131", %".132"
  %".134" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".133", i32 8, i32 31)
  %".135" = add i32 %".133", %".134"
  %".136" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".135", i32 4, i32 31)
  %".137" = add i32 %".135", %".136"
  %".138" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".137", i32 2, i32 31)
  %".139" = add i32 %".137", %".138"
  %".140" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".139", i32 1, i32 31)
  %".141" = add i32 %".139", %".140"
  %".142" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".143" = zext i32 %".142" to i64
  %".144" = icmp eq i64 %".143", 0
  br i1 %".144", label %"k.then.1", label %"k.end.1"
k.then.1:
  %".146" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".147" = zext i32 %".146" to i64
  %".148" = getelementptr inbounds i32, ptr %"partials", i64 %".147"
  store i32 %".141", ptr %".148"
  br label %"k.end.1"
k.end.1:
  ret void
}

declare i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()

declare i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()

declare i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 %".1", i32 %".2", i32 %".3", i32 %".4")

@"prefix_sum__scan_reduce.shared4" = internal addrspace(3) global [32 x i32] undef
declare void @"llvm.nvvm.barrier0"()

define ptx_kernel void @"prefix_sum__scan_carry"(i64 %"n", ptr noalias readonly align 16 %"x", ptr noalias align 16 %"out", ptr %"partials", i32 %"blocks") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca i32
  %"i" = alloca i64
  %"t.x2" = alloca i32
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  %"kk" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".8" = load i64, i64* %"n.1"
  %".9" = load i64, i64* %"n.1"
  %".10" = zext i32 %"blocks" to i64
  %".11" = add i64 %".10", 255
  %".12" = udiv i64 %".11", 256
  %".13" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".14" = zext i32 %".13" to i64
  %".15" = mul i64 %".14", %".12"
  %".16" = add i64 %".15", %".12"
  %".17" = icmp ult i64 %".16", %".10"
  %".18" = select  i1 %".17", i64 %".16", i64 %".10"
  store i32 0, i32* %"s"
  store i64 %".15", i64* %"pos"
  br label %"k.head"
k.head:
  %".22" = load i64, i64* %"pos"
  %".23" = icmp ult i64 %".22", %".18"
  br i1 %".23", label %"k.loop", label %"k.done"
k.loop:
  %".25" = load i32, i32* %"s"
  %".26" = getelementptr inbounds i32, ptr %"partials", i64 %".22"
  %".27" = load i32, ptr %".26"
  %".28" = add i32 %".25", %".27"
  store i32 %".28", i32* %"s"
  %".30" = load i64, i64* %"pos"
  %".31" = add i64 %".30", 1
  store i64 %".31", i64* %"pos"
  br label %"k.head"
k.done:
  %".34" = load i32, i32* %"s"
  %".35" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".36" = zext i32 %".35" to i64
  %".37" = trunc i64 %".36" to i32
  %".38" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".37"
  store i32 %".34", i32 addrspace(3)* %".38"
  call void @"llvm.nvvm.barrier0"()
  %".41" = icmp uge i64 %".36", 1
  %".42" = sub i64 %".36", 1
  %".43" = select  i1 %".41", i64 %".42", i64 %".36"
  %".44" = trunc i64 %".43" to i32
  %".45" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".44"
  %".46" = load i32, i32 addrspace(3)* %".45"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".41", label %"k.then", label %"k.end"
k.then:
  %".49" = load i32, i32 addrspace(3)* %".38"
  %".50" = add i32 %".46", %".49"
  store i32 %".50", i32 addrspace(3)* %".38"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".54" = icmp uge i64 %".36", 2
  %".55" = sub i64 %".36", 2
  %".56" = select  i1 %".54", i64 %".55", i64 %".36"
  %".57" = trunc i64 %".56" to i32
  %".58" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".57"
  %".59" = load i32, i32 addrspace(3)* %".58"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".54", label %"k.then.1", label %"k.end.1"
k.then.1:
  %".62" = load i32, i32 addrspace(3)* %".38"
  %".63" = add i32 %".59", %".62"
  store i32 %".63", i32 addrspace(3)* %".38"
  br label %"k.end.1"
k.end.1:
  call void @"llvm.nvvm.barrier0"()
  %".67" = icmp uge i64 %".36", 4
  %".68" = sub i64 %".36", 4
  %".69" = select  i1 %".67", i64 %".68", i64 %".36"
  %".70" = trunc i64 %".69" to i32
  %".71" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".70"
  %".72" = load i32, i32 addrspace(3)* %".71"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".67", label %"k.then.2", label %"k.end.2"
k.then.2:
  %".75" = load i32, i32 addrspace(3)* %".38"
  %".76" = add i32 %".72", %".75"
  store i32 %".76", i32 addrspace(3)* %".38"
  br label %"k.end.2"
k.end.2:
  call void @"llvm.nvvm.barrier0"()
  %".80" = icmp uge i64 %".36", 8
  %".81" = sub i64 %".36", 8
  %".82" = select  i1 %".80", i64 %".81", i64 %".36"
  %".83" = trunc i64 %".82" to i32
  %".84" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".83"
  %".85" = load i32, i32 addrspace(3)* %".84"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".80", label %"k.then.3", label %"k.end.3"
k.then.3:
  %".88" = load i32, i32 addrspace(3)* %".38"
  %".89" = add i32 %".85", %".88"
  store i32 %".89", i32 addrspace(3)* %".38"
  br label %"k.end.3"
k.end.3:
  call void @"llvm.nvvm.barrier0"()
  %".93" = icmp uge i64 %".36", 16
  %".94" = sub i64 %".36", 16
  %".95" = select  i1 %".93", i64 %".94", i64 %".36"
  %".96" = trunc i64 %".95" to i32
  %".97" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".96"
  %".98" = load i32, i32 addrspace(3)* %".97"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".93", label %"k.then.4", label %"k.end.4"
k.then.4:
  %".101" = load i32, i32 addrspace(3)* %".38"
  %".102" = add i32 %".98", %".101"
  store i32 %".102", i32 addrspace(3)* %".38"
  br label %"k.end.4"
k.end.4:
  call void @"llvm.nvvm.barrier0"()
  %".106" = icmp uge i64 %".36", 32
  %".107" = sub i64 %".36", 32
  %".108" = select  i1 %".106", i64 %".107", i64 %".36"
  %".109" = trunc i64 %".108" to i32
  %".110" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".109"
  %".111" = load i32, i32 addrspace(3)* %".110"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".106", label %"k.then.5", label %"k.end.5"
k.then.5:
  %".114" = load i32, i32 addrspace(3)* %".38"
  %".115" = add i32 %".111", %".114"
  store i32 %".115", i32 addrspace(3)* %".38"
  br label %"k.end.5"
k.end.5:
  call void @"llvm.nvvm.barrier0"()
  %".119" = icmp uge i64 %".36", 64
  %".120" = sub i64 %".36", 64
  %".121" = select  i1 %".119", i64 %".120", i64 %".36"
  %".122" = trunc i64 %".121" to i32
  %".123" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".122"
  %".124" = load i32, i32 addrspace(3)* %".123"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".119", label %"k.then.6", label %"k.end.6"
k.then.6:
  %".127" = load i32, i32 addrspace(3)* %".38"
  %".128" = add i32 %".124", %".127"
  store i32 %".128", i32 addrspace(3)* %".38"
  br label %"k.end.6"
k.end.6:
  call void @"llvm.nvvm.barrier0"()
  %".132" = icmp uge i64 %".36", 128
  %".133" = sub i64 %".36", 128
  %".134" = select  i1 %".132", i64 %".133", i64 %".36"
  %".135" = trunc i64 %".134" to i32
  %".136" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".135"
  %".137" = load i32, i32 addrspace(3)* %".136"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".132", label %"k.then.7", label %"k.end.7"
k.then.7:
  %".140" = load i32, i32 addrspace(3)* %".38"
  %".141" = add i32 %".137", %".140"
  store i32 %".141", i32 addrspace(3)* %".38"
  br label %"k.end.7"
k.end.7:
  call void @"llvm.nvvm.barrier0"()
  %".145" = icmp ugt i64 %".36", 0
  %".146" = sub i64 %".36", 1
  %".147" = select  i1 %".145", i64 %".146", i64 %".36"
  %".148" = trunc i64 %".147" to i32
  %".149" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_carry.shared7", i32 0, i32 %".148"
  %".150" = load i32, i32 addrspace(3)* %".149"
  %".151" = select  i1 %".145", i32 %".150", i32 0
  store i32 %".151", i32* %"s"
  store i64 %".15", i64* %"pos"
  br label %"k.head.1"
k.head.1:
  %".155" = load i64, i64* %"pos"
  %".156" = icmp ult i64 %".155", %".18"
  br i1 %".156", label %"k.loop.1", label %"k.done.1"
k.loop.1:
  %".158" = getelementptr inbounds i32, ptr %"partials", i64 %".155"
  %".159" = load i32, ptr %".158"
  %".160" = load i32, i32* %"s"
  %".161" = getelementptr inbounds i32, ptr %"partials", i64 %".155"
  store i32 %".160", ptr %".161"
  %".163" = add i32 %".160", %".159"
  store i32 %".163", i32* %"s"
  %".165" = load i64, i64* %"pos"
  %".166" = add i64 %".165", 1
  store i64 %".166", i64* %"pos"
  br label %"k.head.1"
k.done.1:
  ret void
}

@"prefix_sum__scan_carry.shared7" = internal addrspace(3) global [256 x i32] undef
define ptx_kernel void @"prefix_sum__scan_apply"(i64 %"n", ptr noalias readonly align 16 %"x", ptr noalias align 16 %"out", ptr %"partials") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca i32
  %"i" = alloca i64
  %"t.x2" = alloca i32
  %"base" = alloca i64
  %"pos" = alloca i64
  %"k" = alloca i64
  %"kk" = alloca i64
  store i64 %"n", i64* %"n.1"
  %".7" = load i64, i64* %"n.1"
  %".8" = load i64, i64* %"n.1"
  store i32 0, i32* %"s"
  %".10" = load i64, i64* %"n.1"
  %".11" = load i32, i32* %"s"
  store i32 0, i32* %"s"
  %".13" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".14" = zext i32 %".13" to i64
  %".15" = mul i64 %".14", 1024
  %".16" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".17" = zext i32 %".16" to i64
  %".18" = mul i64 %".17", 4
  %".19" = add i64 %".15", %".18"
  %".20" = add i64 %".19", 4
  %".21" = icmp ule i64 %".20", %".10"
  br i1 %".21", label %"k.full", label %"k.part"
k.full:
  %".23" = add i64 %".19", 0
  store i64 %".23", i64* %"i"
  %".25" = load i32, i32* %"s"
  %".26" = load i64, i64* %"i"
  %".27" = getelementptr inbounds i32, ptr %"x", i64 %".26"
  %".28" = load i32, ptr %".27", align 4
  %".29" = add i32 %".25", %".28"
  store i32 %".29", i32* %"t.x2"
  %".31" = load i32, i32* %"s"
  %".32" = load i64, i64* %"i"
  %".33" = getelementptr inbounds i32, ptr %"x", i64 %".32"
  %".34" = load i32, ptr %".33", align 4
  %".35" = add i32 %".31", %".34"
  store i32 %".35", i32* %"s"
  %".37" = add i64 %".19", 1
  store i64 %".37", i64* %"i"
  %".39" = load i32, i32* %"s"
  %".40" = load i64, i64* %"i"
  %".41" = getelementptr inbounds i32, ptr %"x", i64 %".40"
  %".42" = load i32, ptr %".41", align 4
  %".43" = add i32 %".39", %".42"
  store i32 %".43", i32* %"t.x2"
  %".45" = load i32, i32* %"s"
  %".46" = load i64, i64* %"i"
  %".47" = getelementptr inbounds i32, ptr %"x", i64 %".46"
  %".48" = load i32, ptr %".47", align 4
  %".49" = add i32 %".45", %".48"
  store i32 %".49", i32* %"s"
  %".51" = add i64 %".19", 2
  store i64 %".51", i64* %"i"
  %".53" = load i32, i32* %"s"
  %".54" = load i64, i64* %"i"
  %".55" = getelementptr inbounds i32, ptr %"x", i64 %".54"
  %".56" = load i32, ptr %".55", align 4
  %".57" = add i32 %".53", %".56"
  store i32 %".57", i32* %"t.x2"
  %".59" = load i32, i32* %"s"
  %".60" = load i64, i64* %"i"
  %".61" = getelementptr inbounds i32, ptr %"x", i64 %".60"
  %".62" = load i32, ptr %".61", align 4
  %".63" = add i32 %".59", %".62"
  store i32 %".63", i32* %"s"
  %".65" = add i64 %".19", 3
  store i64 %".65", i64* %"i"
  %".67" = load i32, i32* %"s"
  %".68" = load i64, i64* %"i"
  %".69" = getelementptr inbounds i32, ptr %"x", i64 %".68"
  %".70" = load i32, ptr %".69", align 4
  %".71" = add i32 %".67", %".70"
  store i32 %".71", i32* %"t.x2"
  %".73" = load i32, i32* %"s"
  %".74" = load i64, i64* %"i"
  %".75" = getelementptr inbounds i32, ptr %"x", i64 %".74"
  %".76" = load i32, ptr %".75", align 4
  %".77" = add i32 %".73", %".76"
  store i32 %".77", i32* %"s"
  br label %"k.chunk"
k.part:
  %".80" = add i64 %".19", 4
  %".81" = icmp ult i64 %".80", %".10"
  %".82" = select  i1 %".81", i64 %".80", i64 %".10"
  store i64 %".19", i64* %"pos"
  br label %"k.head"
k.chunk:
  %".106" = load i32, i32* %"s"
  %".107" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".108" = zext i32 %".107" to i64
  %".109" = trunc i64 %".108" to i32
  %".110" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".109"
  store i32 %".106", i32 addrspace(3)* %".110"
  call void @"llvm.nvvm.barrier0"()
  %".113" = icmp uge i64 %".108", 1
  %".114" = sub i64 %".108", 1
  %".115" = select  i1 %".113", i64 %".114", i64 %".108"
  %".116" = trunc i64 %".115" to i32
  %".117" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".116"
  %".118" = load i32, i32 addrspace(3)* %".117"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".113", label %"k.then", label %"k.end"
k.head:
  %".85" = load i64, i64* %"pos"
  %".86" = icmp ult i64 %".85", %".82"
  br i1 %".86", label %"k.loop", label %"k.done"
k.loop:
  store i64 %".85", i64* %"i"
  %".89" = load i32, i32* %"s"
  %".90" = load i64, i64* %"i"
  %".91" = getelementptr inbounds i32, ptr %"x", i64 %".90"
  %".92" = load i32, ptr %".91", align 4
  %".93" = add i32 %".89", %".92"
  store i32 %".93", i32* %"t.x2"
  %".95" = load i32, i32* %"s"
  %".96" = load i64, i64* %"i"
  %".97" = getelementptr inbounds i32, ptr %"x", i64 %".96"
  %".98" = load i32, ptr %".97", align 4
  %".99" = add i32 %".95", %".98"
  store i32 %".99", i32* %"s"
  %".101" = load i64, i64* %"pos"
  %".102" = add i64 %".101", 1
  store i64 %".102", i64* %"pos"
  br label %"k.head"
k.done:
  br label %"k.chunk"
k.then:
  %".121" = load i32, i32 addrspace(3)* %".110"
  %".122" = add i32 %".118", %".121"
  store i32 %".122", i32 addrspace(3)* %".110"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".126" = icmp uge i64 %".108", 2
  %".127" = sub i64 %".108", 2
  %".128" = select  i1 %".126", i64 %".127", i64 %".108"
  %".129" = trunc i64 %".128" to i32
  %".130" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".129"
  %".131" = load i32, i32 addrspace(3)* %".130"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".126", label %"k.then.1", label %"k.end.1"
k.then.1:
  %".134" = load i32, i32 addrspace(3)* %".110"
  %".135" = add i32 %".131", %".134"
  store i32 %".135", i32 addrspace(3)* %".110"
  br label %"k.end.1"
k.end.1:
  call void @"llvm.nvvm.barrier0"()
  %".139" = icmp uge i64 %".108", 4
  %".140" = sub i64 %".108", 4
  %".141" = select  i1 %".139", i64 %".140", i64 %".108"
  %".142" = trunc i64 %".141" to i32
  %".143" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".142"
  %".144" = load i32, i32 addrspace(3)* %".143"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".139", label %"k.then.2", label %"k.end.2"
k.then.2:
  %".147" = load i32, i32 addrspace(3)* %".110"
  %".148" = add i32 %".144", %".147"
  store i32 %".148", i32 addrspace(3)* %".110"
  br label %"k.end.2"
k.end.2:
  call void @"llvm.nvvm.barrier0"()
  %".152" = icmp uge i64 %".108", 8
  %".153" = sub i64 %".108", 8
  %".154" = select  i1 %".152", i64 %".153", i64 %".108"
  %".155" = trunc i64 %".154" to i32
  %".156" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".155"
  %".157" = load i32, i32 addrspace(3)* %".156"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".152", label %"k.then.3", label %"k.end.3"
k.then.3:
  %".160" = load i32, i32 addrspace(3)* %".110"
  %".161" = add i32 %".157", %".160"
  store i32 %".161", i32 addrspace(3)* %".110"
  br label %"k.end.3"
k.end.3:
  call void @"llvm.nvvm.barrier0"()
  %".165" = icmp uge i64 %".108", 16
  %".166" = sub i64 %".108", 16
  %".167" = select  i1 %".165", i64 %".166", i64 %".108"
  %".168" = trunc i64 %".167" to i32
  %".169" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".168"
  %".170" = load i32, i32 addrspace(3)* %".169"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".165", label %"k.then.4", label %"k.end.4"
k.then.4:
  %".173" = load i32, i32 addrspace(3)* %".110"
  %".174" = add i32 %".170", %".173"
  store i32 %".174", i32 addrspace(3)* %".110"
  br label %"k.end.4"
k.end.4:
  call void @"llvm.nvvm.barrier0"()
  %".178" = icmp uge i64 %".108", 32
  %".179" = sub i64 %".108", 32
  %".180" = select  i1 %".178", i64 %".179", i64 %".108"
  %".181" = trunc i64 %".180" to i32
  %".182" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".181"
  %".183" = load i32, i32 addrspace(3)* %".182"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".178", label %"k.then.5", label %"k.end.5"
k.then.5:
  %".186" = load i32, i32 addrspace(3)* %".110"
  %".187" = add i32 %".183", %".186"
  store i32 %".187", i32 addrspace(3)* %".110"
  br label %"k.end.5"
k.end.5:
  call void @"llvm.nvvm.barrier0"()
  %".191" = icmp uge i64 %".108", 64
  %".192" = sub i64 %".108", 64
  %".193" = select  i1 %".191", i64 %".192", i64 %".108"
  %".194" = trunc i64 %".193" to i32
  %".195" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".194"
  %".196" = load i32, i32 addrspace(3)* %".195"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".191", label %"k.then.6", label %"k.end.6"
k.then.6:
  %".199" = load i32, i32 addrspace(3)* %".110"
  %".200" = add i32 %".196", %".199"
  store i32 %".200", i32 addrspace(3)* %".110"
  br label %"k.end.6"
k.end.6:
  call void @"llvm.nvvm.barrier0"()
  %".204" = icmp uge i64 %".108", 128
  %".205" = sub i64 %".108", 128
  %".206" = select  i1 %".204", i64 %".205", i64 %".108"
  %".207" = trunc i64 %".206" to i32
  %".208" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".207"
  %".209" = load i32, i32 addrspace(3)* %".208"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".204", label %"k.then.7", label %"k.end.7"
k.then.7:
  %".212" = load i32, i32 addrspace(3)* %".110"
  %".213" = add i32 %".209", %".212"
  store i32 %".213", i32 addrspace(3)* %".110"
  br label %"k.end.7"
k.end.7:
  call void @"llvm.nvvm.barrier0"()
  %".217" = icmp ugt i64 %".108", 0
  %".218" = sub i64 %".108", 1
  %".219" = select  i1 %".217", i64 %".218", i64 %".108"
  %".220" = trunc i64 %".219" to i32
  %".221" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".220"
  %".222" = load i32, i32 addrspace(3)* %".221"
  %".223" = select  i1 %".217", i32 %".222", i32 0
  %".224" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".225" = zext i32 %".224" to i64
  %".226" = getelementptr inbounds i32, ptr %"partials", i64 %".225"
  %".227" = load i32, ptr %".226"
  %".228" = add i32 %".11", %".227"
  %".229" = add i32 %".228", %".223"
  store i32 %".229", i32* %"s"
  %".231" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".232" = zext i32 %".231" to i64
  %".233" = mul i64 %".232", 4
  %".234" = add i64 %".15", %".233"
  %".235" = add i64 %".234", 4
  %".236" = icmp ule i64 %".235", %".10"
  br i1 %".236", label %"k.full.1", label %"k.part.1"
k.full.1:
  %".238" = add i64 %".234", 0
  store i64 %".238", i64* %"i"
  %".240" = load i32, i32* %"s"
  %".241" = load i64, i64* %"i"
  %".242" = getelementptr inbounds i32, ptr %"x", i64 %".241"
  %".243" = load i32, ptr %".242", align 4
  %".244" = add i32 %".240", %".243"
  store i32 %".244", i32* %"t.x2"
  %".246" = load i32, i32* %"s"
  %".247" = load i64, i64* %"i"
  %".248" = getelementptr inbounds i32, ptr %"x", i64 %".247"
  %".249" = load i32, ptr %".248", align 4
  %".250" = add i32 %".246", %".249"
  store i32 %".250", i32* %"s"
  %".252" = load i64, i64* %"i"
  %".253" = load i32, i32* %"t.x2"
  %".254" = getelementptr inbounds i32, ptr %"out", i64 %".252"
  store i32 %".253", ptr %".254", align 4
  %".256" = add i64 %".234", 1
  store i64 %".256", i64* %"i"
  %".258" = load i32, i32* %"s"
  %".259" = load i64, i64* %"i"
  %".260" = getelementptr inbounds i32, ptr %"x", i64 %".259"
  %".261" = load i32, ptr %".260", align 4
  %".262" = add i32 %".258", %".261"
  store i32 %".262", i32* %"t.x2"
  %".264" = load i32, i32* %"s"
  %".265" = load i64, i64* %"i"
  %".266" = getelementptr inbounds i32, ptr %"x", i64 %".265"
  %".267" = load i32, ptr %".266", align 4
  %".268" = add i32 %".264", %".267"
  store i32 %".268", i32* %"s"
  %".270" = load i64, i64* %"i"
  %".271" = load i32, i32* %"t.x2"
  %".272" = getelementptr inbounds i32, ptr %"out", i64 %".270"
  store i32 %".271", ptr %".272", align 4
  %".274" = add i64 %".234", 2
  store i64 %".274", i64* %"i"
  %".276" = load i32, i32* %"s"
  %".277" = load i64, i64* %"i"
  %".278" = getelementptr inbounds i32, ptr %"x", i64 %".277"
  %".279" = load i32, ptr %".278", align 4
  %".280" = add i32 %".276", %".279"
  store i32 %".280", i32* %"t.x2"
  %".282" = load i32, i32* %"s"
  %".283" = load i64, i64* %"i"
  %".284" = getelementptr inbounds i32, ptr %"x", i64 %".283"
  %".285" = load i32, ptr %".284", align 4
  %".286" = add i32 %".282", %".285"
  store i32 %".286", i32* %"s"
  %".288" = load i64, i64* %"i"
  %".289" = load i32, i32* %"t.x2"
  %".290" = getelementptr inbounds i32, ptr %"out", i64 %".288"
  store i32 %".289", ptr %".290", align 4
  %".292" = add i64 %".234", 3
  store i64 %".292", i64* %"i"
  %".294" = load i32, i32* %"s"
  %".295" = load i64, i64* %"i"
  %".296" = getelementptr inbounds i32, ptr %"x", i64 %".295"
  %".297" = load i32, ptr %".296", align 4
  %".298" = add i32 %".294", %".297"
  store i32 %".298", i32* %"t.x2"
  %".300" = load i32, i32* %"s"
  %".301" = load i64, i64* %"i"
  %".302" = getelementptr inbounds i32, ptr %"x", i64 %".301"
  %".303" = load i32, ptr %".302", align 4
  %".304" = add i32 %".300", %".303"
  store i32 %".304", i32* %"s"
  %".306" = load i64, i64* %"i"
  %".307" = load i32, i32* %"t.x2"
  %".308" = getelementptr inbounds i32, ptr %"out", i64 %".306"
  store i32 %".307", ptr %".308", align 4
  br label %"k.chunk.1"
k.part.1:
  %".311" = add i64 %".234", 4
  %".312" = icmp ult i64 %".311", %".10"
  %".313" = select  i1 %".312", i64 %".311", i64 %".10"
  store i64 %".234", i64* %"pos"
  br label %"k.head.1"
k.chunk.1:
  ret void
k.head.1:
  %".316" = load i64, i64* %"pos"
  %".317" = icmp ult i64 %".316", %".313"
  br i1 %".317", label %"k.loop.1", label %"k.done.1"
k.loop.1:
  store i64 %".316", i64* %"i"
  %".320" = load i32, i32* %"s"
  %".321" = load i64, i64* %"i"
  %".322" = getelementptr inbounds i32, ptr %"x", i64 %".321"
  %".323" = load i32, ptr %".322", align 4
  %".324" = add i32 %".320", %".323"
  store i32 %".324", i32* %"t.x2"
  %".326" = load i32, i32* %"s"
  %".327" = load i64, i64* %"i"
  %".328" = getelementptr inbounds i32, ptr %"x", i64 %".327"
  %".329" = load i32, ptr %".328", align 4
  %".330" = add i32 %".326", %".329"
  store i32 %".330", i32* %"s"
  %".332" = load i64, i64* %"i"
  %".333" = load i32, i32* %"t.x2"
  %".334" = getelementptr inbounds i32, ptr %"out", i64 %".332"
  store i32 %".333", ptr %".334", align 4
  %".336" = load i64, i64* %"pos"
  %".337" = add i64 %".336", 1
  store i64 %".337", i64* %"pos"
  br label %"k.head.1"
k.done.1:
  br label %"k.chunk.1"
}

@"prefix_sum__scan_apply.shared9" = internal addrspace(3) global [256 x i32] undef
!nvvm.annotations = !{ !0, !1, !2, !3, !4, !5, !6, !7, !8 }
!0 = !{ void (i64, ptr, ptr, ptr)* @"prefix_sum__scan_reduce", !"maxntidx", i32 256 }
!1 = !{ void (i64, ptr, ptr, ptr)* @"prefix_sum__scan_reduce", !"maxntidy", i32 1 }
!2 = !{ void (i64, ptr, ptr, ptr)* @"prefix_sum__scan_reduce", !"maxntidz", i32 1 }
!3 = !{ void (i64, ptr, ptr, ptr, i32)* @"prefix_sum__scan_carry", !"maxntidx", i32 256 }
!4 = !{ void (i64, ptr, ptr, ptr, i32)* @"prefix_sum__scan_carry", !"maxntidy", i32 1 }
!5 = !{ void (i64, ptr, ptr, ptr, i32)* @"prefix_sum__scan_carry", !"maxntidz", i32 1 }
!6 = !{ void (i64, ptr, ptr, ptr)* @"prefix_sum__scan_apply", !"maxntidx", i32 256 }
!7 = !{ void (i64, ptr, ptr, ptr)* @"prefix_sum__scan_apply", !"maxntidy", i32 1 }
!8 = !{ void (i64, ptr, ptr, ptr)* @"prefix_sum__scan_apply", !"maxntidz", i32 1 }