; ModuleID = "prefix_sum"
target triple = "nvptx64-nvidia-cuda"
target datalayout = "e-p6:32:32-i64:64-i128:128-i256:256-v16:16-v32:32-n16:32:64"

define ptx_kernel void @"prefix_sum__scan_reduce"(i64 %"n", ptr noalias readonly align 16 %"x", ptr noalias align 16 %"out", ptr %"partials") nounwind
{
entry:
  %"n.1" = alloca i64
  %"s" = alloca i32
  %"i" = alloca i64
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
  store i32 %".28", i32* %"s"
  %".30" = add i64 %".18", 1
  store i64 %".30", i64* %"i"
  %".32" = load i32, i32* %"s"
  %".33" = load i64, i64* %"i"
  %".34" = getelementptr inbounds i32, ptr %"x", i64 %".33"
  %".35" = load i32, ptr %".34", align 4
  %".36" = add i32 %".32", %".35"
  store i32 %".36", i32* %"s"
  %".38" = add i64 %".18", 2
  store i64 %".38", i64* %"i"
  %".40" = load i32, i32* %"s"
  %".41" = load i64, i64* %"i"
  %".42" = getelementptr inbounds i32, ptr %"x", i64 %".41"
  %".43" = load i32, ptr %".42", align 4
  %".44" = add i32 %".40", %".43"
  store i32 %".44", i32* %"s"
  %".46" = add i64 %".18", 3
  store i64 %".46", i64* %"i"
  %".48" = load i32, i32* %"s"
  %".49" = load i64, i64* %"i"
  %".50" = getelementptr inbounds i32, ptr %"x", i64 %".49"
  %".51" = load i32, ptr %".50", align 4
  %".52" = add i32 %".48", %".51"
  store i32 %".52", i32* %"s"
  br label %"k.chunk"
k.part:
  %".55" = add i64 %".18", 4
  %".56" = icmp ult i64 %".55", %".10"
  %".57" = select  i1 %".56", i64 %".55", i64 %".10"
  store i64 %".18", i64* %"pos"
  br label %"k.head"
k.chunk:
  %".75" = load i32, i32* %"s"
  %".76" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".77" = zext i32 %".76" to i64
  %".78" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".75", i32 16, i32 31)
  %".79" = add i32 %".75", %".78"
  %".80" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".79", i32 8, i32 31)
  %".81" = add i32 %".79", %".80"
  %".82" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".81", i32 4, i32 31)
  %".83" = add i32 %".81", %".82"
  %".84" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".83", i32 2, i32 31)
  %".85" = add i32 %".83", %".84"
  %".86" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".85", i32 1, i32 31)
  %".87" = add i32 %".85", %".86"
  %".88" = and i64 %".77", 31
  %".89" = lshr i64 %".77", 5
  %".90" = icmp eq i64 %".88", 0
  br i1 %".90", label %"k.then", label %"k.end"
k.head:
  %".60" = load i64, i64* %"pos"
  %".61" = icmp ult i64 %".60", %".57"
  br i1 %".61", label %"k.loop", label %"k.done"
k.loop:
  store i64 %".60", i64* %"i"
  %".64" = load i32, i32* %"s"
  %".65" = load i64, i64* %"i"
  %".66" = getelementptr inbounds i32, ptr %"x", i64 %".65"
  %".67" = load i32, ptr %".66", align 4
  %".68" = add i32 %".64", %".67"
  store i32 %".68", i32* %"s"
  %".70" = load i64, i64* %"pos"
  %".71" = add i64 %".70", 1
  store i64 %".71", i64* %"pos"
  br label %"k.head"
k.done:
  br label %"k.chunk"
k.then:
  %".92" = trunc i64 %".89" to i32
  %".93" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"prefix_sum__scan_reduce.shared4", i32 0, i32 %".92"
  store i32 %".87", i32 addrspace(3)* %".93"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".97" = trunc i64 %".88" to i32
  %".98" = getelementptr inbounds [32 x i32], [32 x i32] addrspace(3)* @"prefix_sum__scan_reduce.shared4", i32 0, i32 %".97"
  %".99" = load i32, i32 addrspace(3)* %".98"
  %".100" = icmp ult i64 %".88", 8
  %".101" = select  i1 %".100", i32 %".99", i32 0
  %".102" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".101", i32 16, i32 31)
  %".103" = add i32 %".101", %".102"
  %".104" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".103", i32 8, i32 31)
  %".105" = add i32 %".103", %".104"
  %".106" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".105", i32 4, i32 31)
  %".107" = add i32 %".105", %".106"
  %".108" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".107", i32 2, i32 31)
  %".109" = add i32 %".107", %".108"
  %".110" = call i32 @"llvm.nvvm.shfl.sync.bfly.i32"(i32 -1, i32 %".109", i32 1, i32 31)
  %".111" = add i32 %".109", %".110"
  %".112" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".113" = zext i32 %".112" to i64
  %".114" = icmp eq i64 %".113", 0
  br i1 %".114", label %"k.then.1", label %"k.end.1"
k.then.1:
  %".116" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".117" = zext i32 %".116" to i64
  %".118" = getelementptr inbounds i32, ptr %"partials", i64 %".117"
  store i32 %".111", ptr %".118"
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
  store i32 %".29", i32* %"s"
  %".31" = add i64 %".19", 1
  store i64 %".31", i64* %"i"
  %".33" = load i32, i32* %"s"
  %".34" = load i64, i64* %"i"
  %".35" = getelementptr inbounds i32, ptr %"x", i64 %".34"
  %".36" = load i32, ptr %".35", align 4
  %".37" = add i32 %".33", %".36"
  store i32 %".37", i32* %"s"
  %".39" = add i64 %".19", 2
  store i64 %".39", i64* %"i"
  %".41" = load i32, i32* %"s"
  %".42" = load i64, i64* %"i"
  %".43" = getelementptr inbounds i32, ptr %"x", i64 %".42"
  %".44" = load i32, ptr %".43", align 4
  %".45" = add i32 %".41", %".44"
  store i32 %".45", i32* %"s"
  %".47" = add i64 %".19", 3
  store i64 %".47", i64* %"i"
  %".49" = load i32, i32* %"s"
  %".50" = load i64, i64* %"i"
  %".51" = getelementptr inbounds i32, ptr %"x", i64 %".50"
  %".52" = load i32, ptr %".51", align 4
  %".53" = add i32 %".49", %".52"
  store i32 %".53", i32* %"s"
  br label %"k.chunk"
k.part:
  %".56" = add i64 %".19", 4
  %".57" = icmp ult i64 %".56", %".10"
  %".58" = select  i1 %".57", i64 %".56", i64 %".10"
  store i64 %".19", i64* %"pos"
  br label %"k.head"
k.chunk:
  %".76" = load i32, i32* %"s"
  %".77" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".78" = zext i32 %".77" to i64
  %".79" = trunc i64 %".78" to i32
  %".80" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".79"
  store i32 %".76", i32 addrspace(3)* %".80"
  call void @"llvm.nvvm.barrier0"()
  %".83" = icmp uge i64 %".78", 1
  %".84" = sub i64 %".78", 1
  %".85" = select  i1 %".83", i64 %".84", i64 %".78"
  %".86" = trunc i64 %".85" to i32
  %".87" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".86"
  %".88" = load i32, i32 addrspace(3)* %".87"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".83", label %"k.then", label %"k.end"
k.head:
  %".61" = load i64, i64* %"pos"
  %".62" = icmp ult i64 %".61", %".58"
  br i1 %".62", label %"k.loop", label %"k.done"
k.loop:
  store i64 %".61", i64* %"i"
  %".65" = load i32, i32* %"s"
  %".66" = load i64, i64* %"i"
  %".67" = getelementptr inbounds i32, ptr %"x", i64 %".66"
  %".68" = load i32, ptr %".67", align 4
  %".69" = add i32 %".65", %".68"
  store i32 %".69", i32* %"s"
  %".71" = load i64, i64* %"pos"
  %".72" = add i64 %".71", 1
  store i64 %".72", i64* %"pos"
  br label %"k.head"
k.done:
  br label %"k.chunk"
k.then:
  %".91" = load i32, i32 addrspace(3)* %".80"
  %".92" = add i32 %".88", %".91"
  store i32 %".92", i32 addrspace(3)* %".80"
  br label %"k.end"
k.end:
  call void @"llvm.nvvm.barrier0"()
  %".96" = icmp uge i64 %".78", 2
  %".97" = sub i64 %".78", 2
  %".98" = select  i1 %".96", i64 %".97", i64 %".78"
  %".99" = trunc i64 %".98" to i32
  %".100" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".99"
  %".101" = load i32, i32 addrspace(3)* %".100"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".96", label %"k.then.1", label %"k.end.1"
k.then.1:
  %".104" = load i32, i32 addrspace(3)* %".80"
  %".105" = add i32 %".101", %".104"
  store i32 %".105", i32 addrspace(3)* %".80"
  br label %"k.end.1"
k.end.1:
  call void @"llvm.nvvm.barrier0"()
  %".109" = icmp uge i64 %".78", 4
  %".110" = sub i64 %".78", 4
  %".111" = select  i1 %".109", i64 %".110", i64 %".78"
  %".112" = trunc i64 %".111" to i32
  %".113" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".112"
  %".114" = load i32, i32 addrspace(3)* %".113"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".109", label %"k.then.2", label %"k.end.2"
k.then.2:
  %".117" = load i32, i32 addrspace(3)* %".80"
  %".118" = add i32 %".114", %".117"
  store i32 %".118", i32 addrspace(3)* %".80"
  br label %"k.end.2"
k.end.2:
  call void @"llvm.nvvm.barrier0"()
  %".122" = icmp uge i64 %".78", 8
  %".123" = sub i64 %".78", 8
  %".124" = select  i1 %".122", i64 %".123", i64 %".78"
  %".125" = trunc i64 %".124" to i32
  %".126" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".125"
  %".127" = load i32, i32 addrspace(3)* %".126"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".122", label %"k.then.3", label %"k.end.3"
k.then.3:
  %".130" = load i32, i32 addrspace(3)* %".80"
  %".131" = add i32 %".127", %".130"
  store i32 %".131", i32 addrspace(3)* %".80"
  br label %"k.end.3"
k.end.3:
  call void @"llvm.nvvm.barrier0"()
  %".135" = icmp uge i64 %".78", 16
  %".136" = sub i64 %".78", 16
  %".137" = select  i1 %".135", i64 %".136", i64 %".78"
  %".138" = trunc i64 %".137" to i32
  %".139" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".138"
  %".140" = load i32, i32 addrspace(3)* %".139"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".135", label %"k.then.4", label %"k.end.4"
k.then.4:
  %".143" = load i32, i32 addrspace(3)* %".80"
  %".144" = add i32 %".140", %".143"
  store i32 %".144", i32 addrspace(3)* %".80"
  br label %"k.end.4"
k.end.4:
  call void @"llvm.nvvm.barrier0"()
  %".148" = icmp uge i64 %".78", 32
  %".149" = sub i64 %".78", 32
  %".150" = select  i1 %".148", i64 %".149", i64 %".78"
  %".151" = trunc i64 %".150" to i32
  %".152" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".151"
  %".153" = load i32, i32 addrspace(3)* %".152"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".148", label %"k.then.5", label %"k.end.5"
k.then.5:
  %".156" = load i32, i32 addrspace(3)* %".80"
  %".157" = add i32 %".153", %".156"
  store i32 %".157", i32 addrspace(3)* %".80"
  br label %"k.end.5"
k.end.5:
  call void @"llvm.nvvm.barrier0"()
  %".161" = icmp uge i64 %".78", 64
  %".162" = sub i64 %".78", 64
  %".163" = select  i1 %".161", i64 %".162", i64 %".78"
  %".164" = trunc i64 %".163" to i32
  %".165" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".164"
  %".166" = load i32, i32 addrspace(3)* %".165"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".161", label %"k.then.6", label %"k.end.6"
k.then.6:
  %".169" = load i32, i32 addrspace(3)* %".80"
  %".170" = add i32 %".166", %".169"
  store i32 %".170", i32 addrspace(3)* %".80"
  br label %"k.end.6"
k.end.6:
  call void @"llvm.nvvm.barrier0"()
  %".174" = icmp uge i64 %".78", 128
  %".175" = sub i64 %".78", 128
  %".176" = select  i1 %".174", i64 %".175", i64 %".78"
  %".177" = trunc i64 %".176" to i32
  %".178" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".177"
  %".179" = load i32, i32 addrspace(3)* %".178"
  call void @"llvm.nvvm.barrier0"()
  br i1 %".174", label %"k.then.7", label %"k.end.7"
k.then.7:
  %".182" = load i32, i32 addrspace(3)* %".80"
  %".183" = add i32 %".179", %".182"
  store i32 %".183", i32 addrspace(3)* %".80"
  br label %"k.end.7"
k.end.7:
  call void @"llvm.nvvm.barrier0"()
  %".187" = icmp ugt i64 %".78", 0
  %".188" = sub i64 %".78", 1
  %".189" = select  i1 %".187", i64 %".188", i64 %".78"
  %".190" = trunc i64 %".189" to i32
  %".191" = getelementptr inbounds [256 x i32], [256 x i32] addrspace(3)* @"prefix_sum__scan_apply.shared9", i32 0, i32 %".190"
  %".192" = load i32, i32 addrspace(3)* %".191"
  %".193" = select  i1 %".187", i32 %".192", i32 0
  %".194" = call i32 @"llvm.nvvm.read.ptx.sreg.ctaid.x"()
  %".195" = zext i32 %".194" to i64
  %".196" = getelementptr inbounds i32, ptr %"partials", i64 %".195"
  %".197" = load i32, ptr %".196"
  %".198" = add i32 %".11", %".197"
  %".199" = add i32 %".198", %".193"
  store i32 %".199", i32* %"s"
  %".201" = call i32 @"llvm.nvvm.read.ptx.sreg.tid.x"()
  %".202" = zext i32 %".201" to i64
  %".203" = mul i64 %".202", 4
  %".204" = add i64 %".15", %".203"
  %".205" = add i64 %".204", 4
  %".206" = icmp ule i64 %".205", %".10"
  br i1 %".206", label %"k.full.1", label %"k.part.1"
k.full.1:
  %".208" = add i64 %".204", 0
  store i64 %".208", i64* %"i"
  %".210" = load i32, i32* %"s"
  %".211" = load i64, i64* %"i"
  %".212" = getelementptr inbounds i32, ptr %"x", i64 %".211"
  %".213" = load i32, ptr %".212", align 4
  %".214" = add i32 %".210", %".213"
  store i32 %".214", i32* %"s"
  %".216" = load i64, i64* %"i"
  %".217" = load i32, i32* %"s"
  %".218" = getelementptr inbounds i32, ptr %"out", i64 %".216"
  store i32 %".217", ptr %".218", align 4
  %".220" = add i64 %".204", 1
  store i64 %".220", i64* %"i"
  %".222" = load i32, i32* %"s"
  %".223" = load i64, i64* %"i"
  %".224" = getelementptr inbounds i32, ptr %"x", i64 %".223"
  %".225" = load i32, ptr %".224", align 4
  %".226" = add i32 %".222", %".225"
  store i32 %".226", i32* %"s"
  %".228" = load i64, i64* %"i"
  %".229" = load i32, i32* %"s"
  %".230" = getelementptr inbounds i32, ptr %"out", i64 %".228"
  store i32 %".229", ptr %".230", align 4
  %".232" = add i64 %".204", 2
  store i64 %".232", i64* %"i"
  %".234" = load i32, i32* %"s"
  %".235" = load i64, i64* %"i"
  %".236" = getelementptr inbounds i32, ptr %"x", i64 %".235"
  %".237" = load i32, ptr %".236", align 4
  %".238" = add i32 %".234", %".237"
  store i32 %".238", i32* %"s"
  %".240" = load i64, i64* %"i"
  %".241" = load i32, i32* %"s"
  %".242" = getelementptr inbounds i32, ptr %"out", i64 %".240"
  store i32 %".241", ptr %".242", align 4
  %".244" = add i64 %".204", 3
  store i64 %".244", i64* %"i"
  %".246" = load i32, i32* %"s"
  %".247" = load i64, i64* %"i"
  %".248" = getelementptr inbounds i32, ptr %"x", i64 %".247"
  %".249" = load i32, ptr %".248", align 4
  %".250" = add i32 %".246", %".249"
  store i32 %".250", i32* %"s"
  %".252" = load i64, i64* %"i"
  %".253" = load i32, i32* %"s"
  %".254" = getelementptr inbounds i32, ptr %"out", i64 %".252"
  store i32 %".253", ptr %".254", align 4
  br label %"k.chunk.1"
k.part.1:
  %".257" = add i64 %".204", 4
  %".258" = icmp ult i64 %".257", %".10"
  %".259" = select  i1 %".258", i64 %".257", i64 %".10"
  store i64 %".204", i64* %"pos"
  br label %"k.head.1"
k.chunk.1:
  ret void
k.head.1:
  %".262" = load i64, i64* %"pos"
  %".263" = icmp ult i64 %".262", %".259"
  br i1 %".263", label %"k.loop.1", label %"k.done.1"
k.loop.1:
  store i64 %".262", i64* %"i"
  %".266" = load i32, i32* %"s"
  %".267" = load i64, i64* %"i"
  %".268" = getelementptr inbounds i32, ptr %"x", i64 %".267"
  %".269" = load i32, ptr %".268", align 4
  %".270" = add i32 %".266", %".269"
  store i32 %".270", i32* %"s"
  %".272" = load i64, i64* %"i"
  %".273" = load i32, i32* %"s"
  %".274" = getelementptr inbounds i32, ptr %"out", i64 %".272"
  store i32 %".273", ptr %".274", align 4
  %".276" = load i64, i64* %"pos"
  %".277" = add i64 %".276", 1
  store i64 %".277", i64* %"pos"
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